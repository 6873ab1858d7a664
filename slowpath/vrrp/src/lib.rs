//! VRRP protocol core: no I/O, time is an input.
