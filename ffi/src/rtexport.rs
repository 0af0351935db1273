//! C ABI for lbnet's rtexport capability.
