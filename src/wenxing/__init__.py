"""wenxing (文行): a members' library of official-writing materials, every copy traceable."""

__version__ = "0.1.0"
