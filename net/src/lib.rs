//! `ply_net`: the composed runtime with `TcpListener` and `TcpStream` (issue 6).
//!
//! This layer is not built yet: the crate is an empty, documented library so that the
//! workspace builds. See `docs/architecture.md` for where it sits among ply's layers.
