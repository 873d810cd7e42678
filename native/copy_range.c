/*
 * copyRange(inFd, inOffset, outFd, outOffset, length) -> Promise<number>
 *
 * Copies a byte range between two open files inside the kernel with Linux copy_file_range(2), on a
 * libuv worker thread, so that contiguous runs of a conversion cost no copies through user memory (the
 * same system call `cp` uses). Rejects with an Error whose `code` is the errno name (EXDEV, ENOSYS, ...)
 * so that the caller can fall back to read and write.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <node_api.h>

typedef struct {
  int in_fd;
  int out_fd;
  int64_t in_offset;
  int64_t out_offset;
  int64_t length;
  int64_t copied;
  int error;
  napi_async_work work;
  napi_deferred deferred;
} CopyJob;

/* One call copies at most 1 GiB; the loop continues until the range is done. */
#define MAX_CALL_BYTES ((int64_t)1 << 30)

static void execute(napi_env env, void *data) {
  (void)env;
  CopyJob *job = data;
  loff_t in_offset = job->in_offset;
  loff_t out_offset = job->out_offset;
  while (job->copied < job->length) {
    int64_t left = job->length - job->copied;
    ssize_t done = copy_file_range(job->in_fd, &in_offset, job->out_fd, &out_offset,
                                   (size_t)(left < MAX_CALL_BYTES ? left : MAX_CALL_BYTES), 0);
    if (done < 0) {
      if (errno == EINTR) continue;
      job->error = errno;
      return;
    }
    if (done == 0) {
      /* The source ended before the range did. */
      job->error = ENODATA;
      return;
    }
    job->copied += done;
  }
}

static const char *errno_name(int error) {
  switch (error) {
    case EXDEV: return "EXDEV";
    case ENOSYS: return "ENOSYS";
    case EINVAL: return "EINVAL";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EBADF: return "EBADF";
    case EIO: return "EIO";
    case ENOSPC: return "ENOSPC";
    case EFBIG: return "EFBIG";
    case ENODATA: return "ENODATA";
    case EPERM: return "EPERM";
    default: return "EUNKNOWN";
  }
}

static void complete(napi_env env, napi_status status, void *data) {
  CopyJob *job = data;
  if (status == napi_ok && job->error == 0) {
    napi_value copied;
    napi_create_double(env, (double)job->copied, &copied);
    napi_resolve_deferred(env, job->deferred, copied);
  } else {
    int error = job->error != 0 ? job->error : EIO;
    napi_value code, message, exception;
    napi_create_string_utf8(env, errno_name(error), NAPI_AUTO_LENGTH, &code);
    napi_create_string_utf8(env, strerror(error), NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, code, message, &exception);
    napi_value copied;
    napi_create_double(env, (double)job->copied, &copied);
    napi_set_named_property(env, exception, "bytesCopied", copied);
    napi_reject_deferred(env, job->deferred, exception);
  }
  napi_delete_async_work(env, job->work);
  free(job);
}

static napi_value copy_range(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (argc != 5) {
    napi_throw_type_error(env, NULL, "copyRange expects (inFd, inOffset, outFd, outOffset, length)");
    return NULL;
  }
  CopyJob *job = calloc(1, sizeof(CopyJob));
  if (job == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  int32_t in_fd, out_fd;
  if (napi_get_value_int32(env, args[0], &in_fd) != napi_ok || napi_get_value_int64(env, args[1], &job->in_offset) != napi_ok ||
      napi_get_value_int32(env, args[2], &out_fd) != napi_ok || napi_get_value_int64(env, args[3], &job->out_offset) != napi_ok ||
      napi_get_value_int64(env, args[4], &job->length) != napi_ok || job->in_offset < 0 || job->out_offset < 0 || job->length < 0) {
    free(job);
    napi_throw_type_error(env, NULL, "copyRange arguments must be non-negative integers");
    return NULL;
  }
  job->in_fd = in_fd;
  job->out_fd = out_fd;
  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "defuser.copyRange", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, job, &job->work);
  napi_queue_async_work(env, job->work);
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value function;
  napi_create_function(env, "copyRange", NAPI_AUTO_LENGTH, copy_range, NULL, &function);
  napi_set_named_property(env, exports, "copyRange", function);
  return exports;
}
