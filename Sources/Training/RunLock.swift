// One run, one writer: `irm train` holds <run>/lock while it writes the run, so that a second
// `irm train --resume` of the same run refuses instead of interleaving checkpoints with the first.
//
// The lock is flock(2) on the file, which the kernel drops when the holder exits, however it exits: a
// lock left by a killed process is simply taken over. The file holds the holder's pid for the message.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

public final class RunLock {
    let fd: Int32
    let path: String
    /// The pid in a lock file whose process had died (the lock was taken over from it).
    public let takenOverFrom: Int32?

    init(fd: Int32, path: String, takenOverFrom: Int32?) {
        self.fd = fd; self.path = path; self.takenOverFrom = takenOverFrom
    }

    /// Takes the lock of `run` (whose folder exists), or throws naming the process that holds it.
    public static func acquire(_ run: RunFolder) throws -> RunLock {
        let path = run.path + "/lock"
        while true {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else {
                throw RunError("\(path): cannot create the run's lock file: \(String(cString: strerror(errno)))")
            }
            if flock(fd, LOCK_EX | LOCK_NB) != 0 {
                let e = errno, holder = readPid(fd)
                close(fd)
                guard e == EWOULDBLOCK else {
                    throw RunError("\(path): cannot lock the run: \(String(cString: strerror(e)))")
                }
                throw RunError(
                    "\(run.path) is in use by another irm train (process \(holder.map(String.init) ?? "?"), lock file \(path)); "
                        + "wait for it to finish or stop it first")
            }
            // The previous holder unlinks the file as it releases it; if that happened between our open and
            // our flock, we hold a lock on a file nobody else will see: start again.
            var a = stat(), b = stat()
            guard fstat(fd, &a) == 0, stat(path, &b) == 0, a.st_ino == b.st_ino, a.st_dev == b.st_dev else {
                close(fd); continue
            }
            let previous = readPid(fd)
            let me = Array("\(getpid())\n".utf8)
            guard ftruncate(fd, 0) == 0, me.withUnsafeBytes({ pwrite(fd, $0.baseAddress!, me.count, 0) }) == me.count
            else {
                let e = errno
                close(fd)
                throw RunError("\(path): cannot write the run's lock file: \(String(cString: strerror(e)))")
            }
            return RunLock(fd: fd, path: path, takenOverFrom: previous.flatMap { $0 != getpid() ? $0 : nil })
        }
    }

    /// Unlinked before it is unlocked, so that nobody locks a file that is about to disappear.
    public func release() {
        unlink(path)
        close(fd)
    }

    static func readPid(_ fd: Int32) -> Int32? {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, 31, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buf[0..<n], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
