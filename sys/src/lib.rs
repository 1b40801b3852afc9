//! `ply_sys`: placeholder, written next.
