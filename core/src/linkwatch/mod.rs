//! A loss-free view of the kernel's links (RTM_NEWLINK / RTM_DELLINK).
