import Numerics
import ModelIO
