//! The BGP export engine.
