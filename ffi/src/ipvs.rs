//! C ABI for lbnet's ipvs capability.
