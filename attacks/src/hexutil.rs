//! hexutil (work in progress).
