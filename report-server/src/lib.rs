//! report-server
