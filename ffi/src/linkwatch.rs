//! C ABI for lbnet's linkwatch capability.
