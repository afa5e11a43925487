/*
 * imload's connected UDP sockets for the SIP agent's shared hub: datagrams read with recvmmsg
 * (up to READ_BATCH a turn, one call into JavaScript for them all) into buffers JavaScript owns,
 * and written with send(2) straight from a JavaScript Buffer. node:dgram makes one JavaScript call, one 64 KiB
 * allocation and one Buffer per datagram read, and a request object per datagram sent; at
 * thousands of SIP transactions a second that is most of a Node program's CPU per transaction
 * (bench/RESULTS.md). Node-API and libuv only: no node-gyp, built by scripts/build-native.mjs.
 */
#define NAPI_VERSION 8
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A datagram's room: the largest a UDP datagram can be. Pages only count once written into. */
#define SLOT_BYTES 65536
/* As libuv's uv__udp_recvmsg: at most 32 datagrams a socket per event-loop turn. */
#define READ_BATCH 32

enum event_kind { EVENT_DATAGRAMS = 0, EVENT_ERROR = 1, EVENT_WRITABLE = 2 };

typedef struct {
  int fd;
  int closing;
  int polled_events;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_event;
  napi_ref slots_ref;
  napi_ref lengths_ref;
  napi_async_context async;
  char *slots;
  int32_t *lengths;
  struct mmsghdr msgs[READ_BATCH];
  struct iovec iov[READ_BATCH];
} udp_socket;

#define CHECK(call)                                                     \
  do {                                                                  \
    if ((call) != napi_ok) {                                            \
      napi_throw_error(env, "EIMLOADUDP", "Node-API call failed: " #call); \
      return NULL;                                                      \
    }                                                                   \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, int code) {
  char message[160];
  snprintf(message, sizeof message, "%s failed: %s", syscall, strerror(code));
  napi_value error, message_value, errno_value, syscall_value;
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &message_value);
  napi_create_error(env, NULL, message_value, &error);
  napi_create_int32(env, code, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

static void emit(udp_socket *s, int kind, int value) {
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value callback, resource, argv[2], result;
  napi_get_reference_value(env, s->on_event, &callback);
  napi_get_global(env, &resource);
  napi_create_int32(env, kind, &argv[0]);
  napi_create_int32(env, value, &argv[1]);
  /* make_callback: the microtask and nextTick queues run after it, as after a dgram 'message'. */
  if (napi_make_callback(env, s->async, resource, callback, 2, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
  napi_close_handle_scope(env, scope);
}

static void set_interest(udp_socket *s, int events);

static void on_poll(uv_poll_t *handle, int status, int events) {
  udp_socket *s = handle->data;
  if (s->closing) return;
  if (status < 0) {
    /*
     * libuv reports EPOLLERR as UV_EBADF and stops the handle. On a connected UDP socket that is
     * an ICMP error for a datagram sent (port unreachable: ECONNREFUSED): read it (which clears
     * it), report it, and poll again, as node:dgram reports it on the next read and goes on.
     */
    int code = -status;
    int pending = 0;
    socklen_t length = sizeof pending;
    if (status == UV_EBADF && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &pending, &length) == 0) {
      code = pending;
      uv_poll_start(&s->poll, s->polled_events, on_poll);
    }
    if (code != 0) emit(s, EVENT_ERROR, code);
    return;
  }
  if (events & UV_WRITABLE) {
    set_interest(s, s->polled_events & ~UV_WRITABLE);
    emit(s, EVENT_WRITABLE, 0);
    if (s->closing) return;
  }
  if (!(events & UV_READABLE)) return;
  int n = recvmmsg(s->fd, s->msgs, READ_BATCH, MSG_DONTWAIT, NULL);
  if (n < 0) {
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) emit(s, EVENT_ERROR, errno);
    return;
  }
  /* A slot holds the largest datagram UDP can carry: none is ever truncated. */
  for (int i = 0; i < n; i++) s->lengths[i] = (int32_t)s->msgs[i].msg_len;
  if (n > 0) emit(s, EVENT_DATAGRAMS, n);
}

static void set_interest(udp_socket *s, int events) {
  if (s->closing || events == s->polled_events) return;
  s->polled_events = events;
  if (events == 0) uv_poll_stop(&s->poll);
  else uv_poll_start(&s->poll, events, on_poll);
}

static void on_closed(uv_handle_t *handle) {
  udp_socket *s = handle->data;
  napi_env env = s->env;
  /* Only now: libuv is done with the descriptor, so its number cannot be reused under the poll handle. */
  close(s->fd);
  napi_delete_reference(env, s->on_event);
  napi_delete_reference(env, s->slots_ref);
  napi_delete_reference(env, s->lengths_ref);
  napi_async_destroy(env, s->async);
  free(s);
}

static udp_socket *unwrap(napi_env env, napi_value value) {
  udp_socket *s = NULL;
  if (napi_get_value_external(env, value, (void **)&s) != napi_ok || s == NULL || s->closing) {
    napi_throw_error(env, "EIMLOADUDP", "the socket is closed");
    return NULL;
  }
  return s;
}

/* A call whose first argument is a socket handle: its `count` arguments into argv, and the open socket (NULL: an exception is pending). */
static udp_socket *socket_call(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < count) {
    napi_throw_type_error(env, "EIMLOADUDP", "missing arguments");
    return NULL;
  }
  return unwrap(env, argv[0]);
}

/* open(host, port, family, recvBufferSize, slots: ArrayBuffer, lengths: Int32Array, onEvent) -> [handle, localHost, localPort] */
static napi_value udp_open(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t host_len;
  int32_t port, family, rcvbuf;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &host_len));
  CHECK(napi_get_value_int32(env, argv[1], &port));
  CHECK(napi_get_value_int32(env, argv[2], &family));
  CHECK(napi_get_value_int32(env, argv[3], &rcvbuf));
  void *slots;
  size_t slots_bytes;
  CHECK(napi_get_arraybuffer_info(env, argv[4], &slots, &slots_bytes));
  napi_typedarray_type type;
  size_t length_count;
  void *lengths;
  napi_value lengths_buffer;
  size_t lengths_offset;
  CHECK(napi_get_typedarray_info(env, argv[5], &type, &length_count, &lengths, &lengths_buffer, &lengths_offset));
  if (slots_bytes < (size_t)READ_BATCH * SLOT_BYTES || type != napi_int32_array || length_count < READ_BATCH) {
    napi_throw_range_error(env, "EIMLOADUDP", "receive buffers too small");
    return NULL;
  }

  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&addr;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, "inet_pton", EINVAL);
    addr_len = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, "inet_pton", EINVAL);
    addr_len = sizeof *a;
  }
  int fd = socket(family == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (connect(fd, (struct sockaddr *)&addr, addr_len) < 0) {
    int code = errno;
    close(fd);
    return throw_errno(env, "connect", code);
  }
  struct sockaddr_storage local;
  socklen_t local_len = sizeof local;
  char local_host[INET6_ADDRSTRLEN];
  int local_port;
  if (getsockname(fd, (struct sockaddr *)&local, &local_len) < 0) {
    int code = errno;
    close(fd);
    return throw_errno(env, "getsockname", code);
  }
  if (local.ss_family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&local;
    inet_ntop(AF_INET6, &a->sin6_addr, local_host, sizeof local_host);
    local_port = ntohs(a->sin6_port);
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&local;
    inet_ntop(AF_INET, &a->sin_addr, local_host, sizeof local_host);
    local_port = ntohs(a->sin_port);
  }

  udp_socket *s = calloc(1, sizeof *s);
  if (s == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  s->fd = fd;
  s->env = env;
  s->slots = slots;
  s->lengths = lengths;
  for (int i = 0; i < READ_BATCH; i++) {
    s->iov[i].iov_base = s->slots + (size_t)i * SLOT_BYTES;
    s->iov[i].iov_len = SLOT_BYTES;
    s->msgs[i].msg_hdr.msg_iov = &s->iov[i];
    s->msgs[i].msg_hdr.msg_iovlen = 1;
  }
  napi_create_reference(env, argv[6], 1, &s->on_event);
  napi_create_reference(env, argv[4], 1, &s->slots_ref);
  napi_create_reference(env, argv[5], 1, &s->lengths_ref);
  napi_value resource_name;
  napi_create_string_utf8(env, "imload:udp", NAPI_AUTO_LENGTH, &resource_name);
  napi_value resource;
  napi_create_object(env, &resource);
  napi_async_init(env, resource, resource_name, &s->async);

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  uv_poll_init_socket(loop, &s->poll, fd);
  s->poll.data = s;
  set_interest(s, UV_READABLE);

  napi_value handle, local_host_value, local_port_value, result;
  CHECK(napi_create_external(env, s, NULL, NULL, &handle));
  CHECK(napi_create_string_utf8(env, local_host, NAPI_AUTO_LENGTH, &local_host_value));
  CHECK(napi_create_int32(env, local_port, &local_port_value));
  CHECK(napi_create_array_with_length(env, 3, &result));
  napi_set_element(env, result, 0, handle);
  napi_set_element(env, result, 1, local_host_value);
  napi_set_element(env, result, 2, local_port_value);
  return result;
}

/* send(handle, datagram: Buffer) -> 1, or -errno (EAGAIN: the socket buffer is full; ask for writable) */
static napi_value udp_send(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  udp_socket *s = socket_call(env, info, 2, argv);
  if (s == NULL) return NULL;
  void *data;
  size_t length;
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  ssize_t sent = send(s->fd, data, length, MSG_DONTWAIT);
  napi_value result;
  CHECK(napi_create_int32(env, sent < 0 ? -errno : 1, &result));
  return result;
}

/* wantWritable(handle, on): an EVENT_WRITABLE once the socket can take datagrams again. */
static napi_value udp_want_writable(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  udp_socket *s = socket_call(env, info, 2, argv);
  if (s == NULL) return NULL;
  bool on;
  CHECK(napi_get_value_bool(env, argv[1], &on));
  set_interest(s, on ? (s->polled_events | UV_WRITABLE) : (s->polled_events & ~UV_WRITABLE));
  return NULL;
}

static napi_value udp_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  udp_socket *s = NULL;
  CHECK(napi_get_value_external(env, argv[0], (void **)&s));
  if (s == NULL || s->closing) return NULL;
  s->closing = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_closed);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"open", NULL, udp_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, udp_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wantWritable", NULL, udp_want_writable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, udp_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value slot_bytes, read_batch;
  napi_create_int32(env, SLOT_BYTES, &slot_bytes);
  napi_create_int32(env, READ_BATCH, &read_batch);
  napi_set_named_property(env, exports, "slotBytes", slot_bytes);
  napi_set_named_property(env, exports, "readBatch", read_batch);
  napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
