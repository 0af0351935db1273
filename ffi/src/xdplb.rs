//! C ABI for lbnet's xdplb capability.
