// A sweep as a SLURM job array: where a sweep outgrows one machine it goes to the cluster's scheduler, not to
// one of ours. Array task i runs `irm sweep --dir SWEEP --task i`, which trains plan.json's run i exactly as a
// local sweep would: new, resumed from its last checkpoint, extended, or skipped when finished. So a task that
// SLURM requeues (node failure, preemption, `scontrol requeue`) resumes its run; cancelling sends SIGTERM,
// on which the run checkpoints. SLURM's own output per task goes to logs/slurm-<job>_<task>.out, the run's
// to logs/<run>.log.
import Foundation

/// The job script. `executable` is the irm binary and `workDir` the folder the runs' relative paths (datasets,
/// the model, Runs/.cache) are relative to; both must be visible from the compute nodes.
/// `evalQuestions` > 0 has each task evaluate its run after training, as `irm sweep --eval` does locally.
public func slurmScript(
    folder: SweepFolder, runs: [SweepRun], executable: String, workDir: String, cpusPerTask: Int,
    evalQuestions: Int = 0, evalTokens: Int = 48, extraDirectives: [String] = []
) -> String {
    func quoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
    let eval = evalQuestions > 0 ? " --eval \(evalQuestions) --eval-tokens \(evalTokens)" : ""
    let sweep = absolutePath(folder.path, from: workDir)
    let name = (sweep as NSString).lastPathComponent
    var s = """
        #!/bin/bash
        # irm sweep \(sweep): \(runs.count) runs, one per array task (written by irm sweep --emit-slurm from plan.json).
        # Submit with: sbatch THIS_FILE    Requeue a task (it resumes its run): scontrol requeue JOBID_TASK
        #SBATCH --job-name=irm-\(name)
        #SBATCH --array=0-\(runs.count - 1)
        #SBATCH --ntasks=1
        #SBATCH --cpus-per-task=\(cpusPerTask)
        #SBATCH --requeue
        #SBATCH --open-mode=append
        #SBATCH --chdir=\(workDir)
        #SBATCH --output=\(sweep)/logs/slurm-%A_%a.out

        """
    for d in extraDirectives { s += "#SBATCH \(d)\n" }
    s += "#\n# task  run\n"
    for (i, r) in runs.enumerated() {
        s += "#  \(String(i).padding(toLength: 4, withPad: " ", startingAt: 0)) \(r.name)\n"
    }
    s += """
        set -euo pipefail
        runs=(\(runs.map(\.name).joined(separator: " ")))
        task=${SLURM_ARRAY_TASK_ID:?submit this script with sbatch}
        echo "$(date -Is) task $task: ${runs[$task]} on $(hostname) (restart ${SLURM_RESTART_COUNT:-0})"
        exec \(quoted(executable)) sweep --dir \(quoted(sweep)) --task "$task" --threads "${SLURM_CPUS_PER_TASK:-\(cpusPerTask)}"\(eval)

        """
    return s
}

func absolutePath(_ p: String, from dir: String) -> String {
    p.hasPrefix("/") ? p : (URL(fileURLWithPath: dir).appendingPathComponent(p).standardizedFileURL.path)
}
