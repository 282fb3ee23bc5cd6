dnl SPDX-License-Identifier: Apache-2.0
dnl BC_PLUGIN(NAME, DEFAULT, DEPS-OK, HELP)
dnl   One --enable-NAME/--disable-NAME switch per plugin, like collectd's AC_PLUGIN.
dnl   NAME: plugin folder name with '_' for '/', e.g. store_sqlite.
dnl   DEFAULT: yes or no. DEPS-OK: "yes" when its libraries were found, else
dnl   the text saying what is missing. A plugin forced on with --enable-NAME
dnl   whose dependencies are missing stops configure with that text.
dnl   Defines the automake conditional BUILD_PLUGIN_<NAME> and records the
dnl   plugin for the summary table printed at the end of configure.
AC_DEFUN([BC_PLUGIN], [
  m4_define([bc_uname], m4_toupper([$1]))
  AC_ARG_ENABLE([$1],
    AS_HELP_STRING([--enable-$1], [$4 (default: $2)]),
    [bc_enable_$1="$enableval"; bc_forced_$1=yes],
    [bc_enable_$1="$2"; bc_forced_$1=no])
  bc_deps_$1="$3"
  AS_IF([test "x$bc_enable_$1" = xyes && test "x$bc_deps_$1" != xyes], [
    AS_IF([test "x$bc_forced_$1" = xyes],
      [AC_MSG_ERROR([plugin $1 was enabled with --enable-$1 but $bc_deps_$1])],
      [bc_enable_$1="no (missing: $bc_deps_$1)"])
  ])
  AM_CONDITIONAL([BUILD_PLUGIN_]bc_uname, [test "x$bc_enable_$1" = xyes])
  bc_plugin_summary="$bc_plugin_summary
    m4_format([%-22s], [$1]) $bc_enable_$1"
])
