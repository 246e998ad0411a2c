#include "frame.h"
#include "calls.gen.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t magic[4] = { 'P', '1', '1', 'F' };

void p11f_wipe(void *data, size_t length) {
  volatile uint8_t *p = data;
  while (length--) *p++ = 0;
}

static int reserve(struct p11f_writer *w, size_t extra) {
  if (w->failed) return -1;
  if (extra > P11F_MAX_BODY || w->length + extra > P11F_HEADER_SIZE + (size_t)P11F_MAX_BODY) {
    w->failed = 1;
    return -1;
  }
  if (w->length + extra <= w->capacity) return 0;
  size_t capacity = w->capacity ? w->capacity : 256;
  while (capacity < w->length + extra) capacity *= 2;
  uint8_t *grown = malloc(capacity);
  if (!grown) {
    w->failed = 1;
    return -1;
  }
  if (w->data) {
    memcpy(grown, w->data, w->length);
    /* Realloc would leave a copy of PINs and key bytes behind in freed memory. */
    p11f_wipe(w->data, w->capacity);
    free(w->data);
  }
  w->data = grown;
  w->capacity = capacity;
  return 0;
}

void p11f_writer_init(struct p11f_writer *w, uint16_t function, uint32_t request_id) {
  memset(w, 0, sizeof(*w));
  if (reserve(w, P11F_HEADER_SIZE) != 0) return;
  struct p11f_header header = { P11F_KIND_REQUEST, 0, function, request_id, 0 };
  p11f_header_encode(w->data, &header);
  w->length = P11F_HEADER_SIZE;
}

void p11f_writer_free(struct p11f_writer *w) {
  if (w->data) {
    p11f_wipe(w->data, w->capacity);
    free(w->data);
  }
  memset(w, 0, sizeof(*w));
}

int p11f_writer_finish(struct p11f_writer *w) {
  if (w->failed || !w->data) return -1;
  struct p11f_header header;
  p11f_header_decode(w->data, &header);
  header.body_length = (uint32_t)(w->length - P11F_HEADER_SIZE);
  header.flags = w->sensitive ? P11F_FLAG_SENSITIVE : 0;
  p11f_header_encode(w->data, &header);
  return 0;
}

void p11f_write_raw(struct p11f_writer *w, const void *data, size_t length) {
  if (reserve(w, length) != 0) return;
  if (length) memcpy(w->data + w->length, data, length);
  w->length += length;
}

void p11f_write_u8(struct p11f_writer *w, uint8_t value) { p11f_write_raw(w, &value, 1); }

void p11f_write_u16(struct p11f_writer *w, uint16_t value) {
  uint8_t b[2] = { (uint8_t)value, (uint8_t)(value >> 8) };
  p11f_write_raw(w, b, 2);
}

void p11f_write_u32(struct p11f_writer *w, uint32_t value) {
  uint8_t b[4];
  for (int i = 0; i < 4; i++) b[i] = (uint8_t)(value >> (8 * i));
  p11f_write_raw(w, b, 4);
}

void p11f_write_u64(struct p11f_writer *w, uint64_t value) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++) b[i] = (uint8_t)(value >> (8 * i));
  p11f_write_raw(w, b, 8);
}

void p11f_put_u8(struct p11f_writer *w, uint8_t value) {
  p11f_write_u8(w, P11F_TAG_U8);
  p11f_write_u8(w, value);
}

void p11f_put_u64(struct p11f_writer *w, uint64_t value) {
  p11f_write_u8(w, P11F_TAG_U64);
  p11f_write_u64(w, value);
}

void p11f_put_bytes(struct p11f_writer *w, const void *data, size_t length, int present) {
  p11f_write_u8(w, P11F_TAG_BYTES);
  p11f_write_u8(w, present ? 1 : 0);
  if (!present) return;
  if (length > UINT32_MAX) {
    w->failed = 1;
    return;
  }
  p11f_write_u32(w, (uint32_t)length);
  p11f_write_raw(w, data, length);
}

void p11f_put_fixed(struct p11f_writer *w, const void *data, size_t width) {
  p11f_write_u8(w, P11F_TAG_FIXED);
  p11f_write_u16(w, (uint16_t)width);
  p11f_write_raw(w, data, width);
}

void p11f_put_outbuf(struct p11f_writer *w, int present, uint64_t capacity) {
  p11f_write_u8(w, P11F_TAG_OUTBUF);
  p11f_write_u8(w, present ? 1 : 0);
  p11f_write_u64(w, present ? capacity : 0);
}

void p11f_reader_init(struct p11f_reader *r, const uint8_t *body, size_t length) {
  r->data = body;
  r->length = length;
  r->offset = 0;
  r->failed = 0;
}

const uint8_t *p11f_read_raw(struct p11f_reader *r, size_t length) {
  if (r->failed || length > r->length - r->offset) {
    r->failed = 1;
    return NULL;
  }
  const uint8_t *p = r->data + r->offset;
  r->offset += length;
  return p;
}

uint8_t p11f_read_u8(struct p11f_reader *r) {
  const uint8_t *p = p11f_read_raw(r, 1);
  return p ? p[0] : 0;
}

uint16_t p11f_read_u16(struct p11f_reader *r) {
  const uint8_t *p = p11f_read_raw(r, 2);
  return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

uint32_t p11f_read_u32(struct p11f_reader *r) {
  const uint8_t *p = p11f_read_raw(r, 4);
  if (!p) return 0;
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

uint64_t p11f_read_u64(struct p11f_reader *r) {
  const uint8_t *p = p11f_read_raw(r, 8);
  if (!p) return 0;
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

int p11f_expect_tag(struct p11f_reader *r, uint8_t tag) {
  if (p11f_read_u8(r) != tag) r->failed = 1;
  return !r->failed;
}

uint64_t p11f_get_u64(struct p11f_reader *r) {
  if (!p11f_expect_tag(r, P11F_TAG_U64)) return 0;
  return p11f_read_u64(r);
}

uint8_t p11f_get_u8(struct p11f_reader *r) {
  if (!p11f_expect_tag(r, P11F_TAG_U8)) return 0;
  return p11f_read_u8(r);
}

void p11f_get_fixed(struct p11f_reader *r, void *out, size_t width) {
  if (!p11f_expect_tag(r, P11F_TAG_FIXED)) return;
  if (p11f_read_u16(r) != width) {
    r->failed = 1;
    return;
  }
  const uint8_t *p = p11f_read_raw(r, width);
  if (p) memcpy(out, p, width);
}

int p11f_header_decode(const uint8_t *bytes, struct p11f_header *header) {
  if (memcmp(bytes, magic, 4) != 0) return -1;
  if (bytes[4] != P11F_PROTOCOL_MAJOR) return -1;
  header->kind = bytes[6];
  header->flags = bytes[7];
  header->function = (uint16_t)(bytes[8] | (bytes[9] << 8));
  header->request_id = (uint32_t)bytes[12] | ((uint32_t)bytes[13] << 8) | ((uint32_t)bytes[14] << 16) |
                       ((uint32_t)bytes[15] << 24);
  header->body_length = (uint32_t)bytes[16] | ((uint32_t)bytes[17] << 8) | ((uint32_t)bytes[18] << 16) |
                        ((uint32_t)bytes[19] << 24);
  if (header->body_length > P11F_MAX_BODY) return -1;
  return 0;
}

void p11f_header_encode(uint8_t *bytes, const struct p11f_header *header) {
  memcpy(bytes, magic, 4);
  bytes[4] = P11F_PROTOCOL_MAJOR;
  bytes[5] = P11F_PROTOCOL_MINOR;
  bytes[6] = header->kind;
  bytes[7] = header->flags;
  bytes[8] = (uint8_t)header->function;
  bytes[9] = (uint8_t)(header->function >> 8);
  bytes[10] = 0;
  bytes[11] = 0;
  for (int i = 0; i < 4; i++) bytes[12 + i] = (uint8_t)(header->request_id >> (8 * i));
  for (int i = 0; i < 4; i++) bytes[16 + i] = (uint8_t)(header->body_length >> (8 * i));
}
