//! `ply_executor`: tasks and executors (issue 3).
//!
//! This layer is not built yet: the crate is an empty, documented library so that the
//! workspace builds. See `docs/architecture.md` for where it sits among ply's layers.
