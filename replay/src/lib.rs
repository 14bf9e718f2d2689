//! Record/replay (event log, checkpoints).
