//! IPVS over generic netlink (family "IPVS").
