/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/abi/abi_view.c: a plugin's view of the headers, for the ABI guard.
 *
 * Built with -g as tests/abi/abi_view.so (never installed). Its one exported
 * function takes every public struct and enum of include/broadcast/, so
 * `abidw` of the .so describes all of them as a plugin compiled against
 * these headers sees them: abi/plugin-view.abi keeps that description and
 * tests/check-abi.sh compares a fresh one with it (docs/abi.md, "How it is
 * tested"). check-abi.sh fails when a struct or enum of docs/abi-history is
 * missing here: add a parameter for a new one.
 */
#include <broadcast/broadcast.h>
#include <broadcast/embed.h>

BC_PLUGIN_EXPORT void bc_abi_view(
	/* plugin.h */
	enum bc_status status, enum bc_kind kind, enum bc_opt_type opt_type,
	const struct bc_option *option, const struct bc_plugin *plugin, bc_plugin_entry_fn entry,
	/* host.h */
	enum bc_log_level log_level, enum bc_media_fact media_fact, const struct bc_host_api *host_api,
	/* provider.h */
	const struct bc_stream_info *stream_info, const struct bc_provider_ops *provider_ops,
	/* store.h */
	enum bc_stream_state stream_state, enum bc_media_state media_state,
	const struct bc_record *record, const struct bc_event *event,
	const struct bc_event_query *event_query, const struct bc_list_query *list_query,
	const struct bc_store_ops *store_ops,
	/* frontend.h */
	const struct bc_request *request, const struct bc_response *response,
	const struct bc_frontend_ops *frontend_ops,
	/* embed.h */
	const struct bc_started_field *started_field, const struct bc_started *started);

void bc_abi_view(enum bc_status status, enum bc_kind kind, enum bc_opt_type opt_type,
                 const struct bc_option *option, const struct bc_plugin *plugin,
                 bc_plugin_entry_fn entry, enum bc_log_level log_level,
                 enum bc_media_fact media_fact, const struct bc_host_api *host_api,
                 const struct bc_stream_info *stream_info,
                 const struct bc_provider_ops *provider_ops, enum bc_stream_state stream_state,
                 enum bc_media_state media_state, const struct bc_record *record,
                 const struct bc_event *event, const struct bc_event_query *event_query,
                 const struct bc_list_query *list_query, const struct bc_store_ops *store_ops,
                 const struct bc_request *request, const struct bc_response *response,
                 const struct bc_frontend_ops *frontend_ops,
                 const struct bc_started_field *started_field, const struct bc_started *started)
{
}
