/* The p11kms frame: a 20-byte header and a body of tagged values. This file only
 * moves bytes; which values a call carries is in calls.json. */
#ifndef P11KMS_FRAME_H
#define P11KMS_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define P11F_HEADER_SIZE 20
#define P11F_MAX_BODY (64u * 1024u * 1024u)

enum p11f_kind { P11F_KIND_REQUEST = 3, P11F_KIND_RESPONSE = 4, P11F_KIND_PROTOCOL_ERROR = 5 };
enum p11f_flags { P11F_FLAG_SENSITIVE = 1 };

enum p11f_tag {
  P11F_TAG_U8 = 1,
  P11F_TAG_U64 = 2,
  P11F_TAG_BYTES = 3,
  P11F_TAG_FIXED = 4,
  P11F_TAG_OUTBUF = 5,
  P11F_TAG_OUTRES = 6,
  P11F_TAG_ULOUT = 7,
  P11F_TAG_ULRES = 8,
  P11F_TAG_TEMPLATE = 9,
  P11F_TAG_TQUERY = 10,
  P11F_TAG_TRESULT = 11,
  P11F_TAG_MECH = 12,
};

enum p11f_result_status { P11F_DATA = 0, P11F_LENGTH_ONLY = 1, P11F_UNAVAILABLE = 2 };

struct p11f_header {
  uint8_t kind;
  uint8_t flags;
  uint16_t function;
  uint32_t request_id;
  uint32_t body_length;
};

/* A growable buffer with a sticky failure flag: writers check once, at the end. */
struct p11f_writer {
  uint8_t *data;
  size_t length;
  size_t capacity;
  int failed;
  int sensitive;
};

void p11f_writer_init(struct p11f_writer *w, uint16_t function, uint32_t request_id);
void p11f_writer_free(struct p11f_writer *w);
/* Finishes the header (body length) and returns 0, or -1 when a write failed. */
int p11f_writer_finish(struct p11f_writer *w);
void p11f_write_raw(struct p11f_writer *w, const void *data, size_t length);
void p11f_write_u8(struct p11f_writer *w, uint8_t value);
void p11f_write_u16(struct p11f_writer *w, uint16_t value);
void p11f_write_u32(struct p11f_writer *w, uint32_t value);
void p11f_write_u64(struct p11f_writer *w, uint64_t value);
void p11f_put_u8(struct p11f_writer *w, uint8_t value);
void p11f_put_u64(struct p11f_writer *w, uint64_t value);
void p11f_put_bytes(struct p11f_writer *w, const void *data, size_t length, int present);
void p11f_put_fixed(struct p11f_writer *w, const void *data, size_t width);
void p11f_put_outbuf(struct p11f_writer *w, int present, uint64_t capacity);

struct p11f_reader {
  const uint8_t *data;
  size_t length;
  size_t offset;
  int failed;
};

void p11f_reader_init(struct p11f_reader *r, const uint8_t *body, size_t length);
uint8_t p11f_read_u8(struct p11f_reader *r);
uint16_t p11f_read_u16(struct p11f_reader *r);
uint32_t p11f_read_u32(struct p11f_reader *r);
uint64_t p11f_read_u64(struct p11f_reader *r);
/* Returns a pointer into the frame, or NULL when fewer than length bytes remain. */
const uint8_t *p11f_read_raw(struct p11f_reader *r, size_t length);
int p11f_expect_tag(struct p11f_reader *r, uint8_t tag);
uint64_t p11f_get_u64(struct p11f_reader *r);
uint8_t p11f_get_u8(struct p11f_reader *r);
/* Copies a FIXED value into a field of exactly width bytes. */
void p11f_get_fixed(struct p11f_reader *r, void *out, size_t width);

int p11f_header_decode(const uint8_t *bytes, struct p11f_header *header);
void p11f_header_encode(uint8_t *bytes, const struct p11f_header *header);

/* Overwrites a buffer that held a PIN or key bytes before it is freed. */
void p11f_wipe(void *data, size_t length);

#endif
