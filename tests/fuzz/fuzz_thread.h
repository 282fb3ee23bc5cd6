/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz_thread.h: run a fuzz target's input on a thread with the stack the
 * parser gets in production (docs/testing.md, "Stacks").
 *
 * libFuzzer calls LLVMFuzzerTestOneInput on the main thread, whose 8 MiB
 * stack hid a stack overflow (issue 17: 1000 nested '[' in a JSON body) that
 * a CivetWeb worker's 100 KiB stack dies of. Every target that parses an
 * outsider's bytes therefore runs its body through fuzz_on_stack() with the
 * size below that matches the thread the input meets in the daemon.
 *
 * Header-only (static functions) so each target stays one .c file.
 */
#ifndef BC_FUZZ_THREAD_H
#define BC_FUZZ_THREAD_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A CivetWeb worker thread, which parses every HTTP request's parameters
 * (and runs the dispatcher) in the http frontend. CivetWeb 1.15 creates
 * workers with mg_start_thread_with_id(), which sets a stack size only when
 * built with -DUSE_STACK_SIZE; Debian's libcivetweb1 1.15+dfsg-4 is, with
 * 102400: its mg_start_thread_with_id() calls pthread_attr_setstacksize
 * with 0x19000 (read from `objdump -d libcivetweb.so.1.15.0`). */
#define FUZZ_STACK_CIVETWEB_WORKER ((size_t)102400)

struct fuzz_on_stack_call {
	void (*fn)(void *);
	void *arg;
};

static void *fuzz_on_stack_main(void *p)
{
	struct fuzz_on_stack_call *call = p;
	call->fn(call->arg);
	return NULL;
}

/* Run fn(arg) on a new thread with a stack of exactly `stack` bytes and
 * wait for it. A failure to make the thread aborts: running on the main
 * thread instead would hide what this exists to find. */
static void fuzz_on_stack(size_t stack, void (*fn)(void *), void *arg)
{
	struct fuzz_on_stack_call call = { fn, arg };
	pthread_attr_t attr;
	pthread_t th;

	if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, stack) != 0 ||
	    pthread_create(&th, &attr, fuzz_on_stack_main, &call) != 0) {
		fprintf(stderr, "fuzz_on_stack: cannot start a thread with a %zu byte stack\n",
		        stack);
		abort();
	}
	pthread_attr_destroy(&attr);
	pthread_join(th, NULL);
}

/* A whole target's entry point: LLVMFuzzerTestOneInput running
 * `one(data, size)` (an int function, its result ignored) on a thread with
 * a `stack`-byte stack. For targets whose input is just bytes. */
struct fuzz_input {
	const uint8_t *data;
	size_t size;
	int (*one)(const uint8_t *, size_t);
};

static inline void fuzz_input_run(void *arg)
{
	struct fuzz_input *in = arg;
	(void)in->one(in->data, in->size);
}

#define FUZZ_ENTRY_ON_STACK(stack, one_input)                                     \
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)              \
	{                                                                         \
		struct fuzz_input in = { data, size, one_input };                 \
		fuzz_on_stack((stack), fuzz_input_run, &in);                      \
		return 0;                                                         \
	}

#endif /* BC_FUZZ_THREAD_H */
