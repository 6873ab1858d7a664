/* Headers bindgen reads (see build.rs). shim.h declares the out-of-line copies of
 * DPDK's static inline fast-path functions (implemented in shim.c). */
#include <rte_config.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_mempool.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <rte_ethdev.h>
#include <rte_ip_frag.h>
#include <rte_bus_vdev.h>
#include <rte_dev.h>
#include <rte_net.h>
#include <rte_fib.h>
#include <rte_fib6.h>
#include "shim.h"
