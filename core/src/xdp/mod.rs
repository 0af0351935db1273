//! The XDP L4 load balancer: loading, attaching and map control with aya.
