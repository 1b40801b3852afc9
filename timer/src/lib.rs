//! `ply_timer`: the hashed hierarchical timer wheel (issue 4).
//!
//! This layer is not built yet: the crate is an empty, documented library so that the
//! workspace builds. See `docs/architecture.md` for where it sits among ply's layers.
