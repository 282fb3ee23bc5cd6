/* SPDX-License-Identifier: Apache-2.0 */
/*
 * broadcast/broadcast.h: the umbrella header for plugin authors.
 *
 * Include this one header to write a provider, store or frontend. The
 * embedding API of libbroadcast (open a config, start and stop streams from a
 * C program) is in broadcast/embed.h. Since ABI 1.0.
 */
#ifndef BROADCAST_BROADCAST_H
#define BROADCAST_BROADCAST_H

#include <broadcast/plugin.h>
#include <broadcast/host.h>
#include <broadcast/provider.h>
#include <broadcast/store.h>
#include <broadcast/frontend.h>

#endif /* BROADCAST_BROADCAST_H */
