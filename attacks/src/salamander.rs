//! salamander (work in progress).
