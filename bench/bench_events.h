/*
 * bench_events.h - the event the sending benchmarks (bench_outbox,
 * bench_deliver) enqueue: an email delivery event whose `data` is about
 * 400 bytes, so the serialised event is about 500 bytes (like bench_sign's).
 * Header-only: each benchmark is one program.
 */
#ifndef HOOKLINE_BENCH_EVENTS_H
#define HOOKLINE_BENCH_EVENTS_H

#include <stdio.h>

#define BENCH_EVENT_TYPE "email.outbound.delivered"
#define BENCH_DATA_CAP 512

/* The data of event `n` (a JSON object) into `out`; returns its length. */
static size_t bench_event_data(char *out, size_t cap, long n)
{
    int len = snprintf(out, cap,
                       "{\"message_id\":\"<%ld.bench@mail.example.com>\","
                       "\"from\":\"news@example.com\",\"to\":\"someone%ld@example.org\","
                       "\"subject\":\"Your weekly digest: 12 new articles you may like\","
                       "\"smtp_response\":\"250 2.0.0 OK 1778155200 a1b2c3d4e5f6 - gsmtp\","
                       "\"ip\":\"192.0.2.10\",\"pool\":\"shared-1\",\"tags\":[\"digest\","
                       "\"weekly\"],\"metadata\":{\"campaign\":\"cmp_0042\",\"user\":\"u_%ld\"},"
                       "\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
                       n, n, n);
    return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}

#endif
