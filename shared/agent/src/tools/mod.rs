//! Agent tools land here.
