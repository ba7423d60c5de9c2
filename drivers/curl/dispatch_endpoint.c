/*
 * dispatch_endpoint.c - an endpoint's delivery settings inside the
 * dispatcher: the copy, the signer over the secrets valid now (rotation),
 * and the OAuth2 token response.
 */
#define _POSIX_C_SOURCE 200809L
#include "dispatch_internal.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static hl_code failf(hl_error *err, hl_code code, const char *msg)
{
    if (err) {
        err->code = code;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return code;
}

void hli_wipe_free(char *s)
{
    if (!s)
        return;
    OPENSSL_cleanse(s, strlen(s));
    free(s);
}

/* strdup that keeps NULL and reports failure through *ok. */
static char *dup_opt(const char *s, int *ok)
{
    char *c;
    if (!s)
        return NULL;
    if ((c = strdup(s)) == NULL)
        *ok = 0;
    return c;
}

void hli_dconf_drop_token(hli_dconf *c)
{
    hli_wipe_free(c->auth_line);
    c->auth_line = NULL;
    c->token_refresh_ms = 0;
    c->token_gen++;
}

void hli_dconf_release(hli_dconf *c)
{
    if (!c || --c->refs > 0)
        return;
    free(c->endpoint_id);
    for (size_t i = 0; i < c->n_secrets; i++)
        hl_secret_free(c->secrets[i]);
    for (size_t i = 0; i < c->n_headers; i++)
        hli_wipe_free(c->headers[i]); /* a custom header may hold an API key */
    free(c->headers);
    hli_wipe_free(c->basic_user);
    hli_wipe_free(c->basic_password);
    free(c->token_url);
    hli_wipe_free(c->client_id);
    hli_wipe_free(c->client_secret);
    free(c->scope);
    free(c->tls_cert);
    free(c->tls_key);
    hl_signer_free(c->signer);
    hli_wipe_free(c->auth_line);
    free(c);
}

hl_code hli_dconf_new(hli_dconf **out, const char *endpoint_id, const hl_delivery_options *o,
                      hl_error *err)
{
    hli_dconf *c = calloc(1, sizeof *c);
    int ok = 1;
    *out = NULL;
    if (!c)
        return failf(err, HL_E_NOMEM, "out of memory");
    c->refs = 1;
    c->scheme = o->scheme;
    c->auth = o->auth;
    c->timeout_ms = o->timeout_ms;
    c->endpoint_id = dup_opt(endpoint_id ? endpoint_id : "", &ok);
    c->basic_user = dup_opt(o->basic_user, &ok);
    /* basic with no password is an empty password */
    c->basic_password = dup_opt(o->auth == HL_AUTH_BASIC && !o->basic_password
                                    ? ""
                                    : o->basic_password,
                                &ok);
    c->token_url = dup_opt(o->oauth2_token_url, &ok);
    c->client_id = dup_opt(o->oauth2_client_id, &ok);
    c->client_secret = dup_opt(o->oauth2_client_secret, &ok);
    c->scope = dup_opt(o->oauth2_scope && o->oauth2_scope[0] ? o->oauth2_scope : NULL, &ok);
    c->tls_cert = dup_opt(o->tls_client_cert, &ok);
    c->tls_key = dup_opt(o->tls_client_key, &ok);
    if (ok && o->n_headers) {
        if ((c->headers = calloc(o->n_headers, sizeof *c->headers)) == NULL)
            ok = 0;
        for (size_t i = 0; ok && i < o->n_headers; i++) {
            size_t n = strlen(o->header_names[i]) + strlen(o->header_values[i]) + 3;
            if ((c->headers[i] = malloc(n)) == NULL) {
                ok = 0;
                break;
            }
            /* curl drops "Name:" with an empty value unless written "Name;" */
            if (o->header_values[i][0])
                snprintf(c->headers[i], n, "%s: %s", o->header_names[i], o->header_values[i]);
            else
                snprintf(c->headers[i], n, "%s;", o->header_names[i]);
            c->n_headers = i + 1;
        }
    }
    if (!ok) {
        hli_dconf_release(c);
        return failf(err, HL_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < o->n_secrets; i++) {
        const hl_delivery_secret *s = &o->secrets[i];
        hl_code rc = hl_secret_parse(&c->secrets[i], o->scheme, s->encoding, s->text,
                                     strlen(s->text), err);
        if (rc != HL_OK) {
            hli_dconf_release(c);
            return rc;
        }
        c->not_after_ms[i] = s->not_after_ms;
        c->n_secrets = i + 1;
    }
    *out = c;
    return HL_OK;
}

static int same_str(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

int hli_dconf_same_client(const hli_dconf *a, const hli_dconf *b)
{
    return a->auth == HL_AUTH_OAUTH2 && b->auth == HL_AUTH_OAUTH2 &&
           same_str(a->token_url, b->token_url) && same_str(a->client_id, b->client_id) &&
           same_str(a->client_secret, b->client_secret) && same_str(a->scope, b->scope);
}

void hli_dconf_take_token(hli_dconf *to, hli_dconf *from)
{
    to->auth_line = from->auth_line;
    to->token_refresh_ms = from->token_refresh_ms;
    from->auth_line = NULL;
}

hl_code hli_dconf_sign(hli_dconf *c, uint64_t now_ms, const char *msg_id, int64_t timestamp,
                       const void *body, size_t body_len, hl_signed *out, hl_error *err)
{
    if (!c->signer || now_ms > c->signer_until) {
        const hl_secret *valid[HL_MAX_SECRETS];
        size_t n = 0;
        uint64_t until = UINT64_MAX;
        hl_signer_free(c->signer);
        c->signer = NULL;
        for (size_t i = 0; i < c->n_secrets; i++) {
            uint64_t na = c->not_after_ms[i];
            /* github carries one signature: only the secret without expiry */
            if (c->scheme == HL_SCHEME_GITHUB ? na != 0 : (na != 0 && now_ms > na))
                continue;
            valid[n++] = c->secrets[i];
            if (na != 0 && na < until)
                until = na;
        }
        hl_code rc = hl_signer_new(&c->signer, c->scheme, valid, n, err);
        if (rc != HL_OK)
            return rc;
        c->signer_until = until;
    }
    return hl_signer_sign(c->signer, msg_id, timestamp, body, body_len, out, err);
}

hl_code hli_oauth2_parse(const char *json, size_t len, char **auth_line, uint64_t *expires_in_s,
                         hl_error *err)
{
    json_t *root = json_loadb(json, len, 0, NULL), *tok, *type, *exp;
    hl_code rc = HL_E_OAUTH2;
    const char *why = NULL;
    *auth_line = NULL;
    *expires_in_s = 0;
    if (!root || !json_is_object(root)) {
        why = "token response is not a JSON object";
        goto out;
    }
    tok = json_object_get(root, "access_token");
    type = json_object_get(root, "token_type");
    exp = json_object_get(root, "expires_in");
    if (!json_is_string(tok) || json_string_length(tok) == 0) {
        why = "token response has no access_token";
        goto out;
    }
    if (type && (!json_is_string(type) || strcasecmp(json_string_value(type), "bearer") != 0)) {
        why = "token response: token_type is not bearer";
        goto out;
    }
    if (exp && json_is_integer(exp) && json_integer_value(exp) > 0)
        *expires_in_s = (uint64_t)json_integer_value(exp);
    else if (exp && json_is_string(exp)) /* some servers quote it */
        *expires_in_s = strtoull(json_string_value(exp), NULL, 10);
    {
        const char *t = json_string_value(tok);
        size_t n = json_string_length(tok);
        /* RFC 6750 b64token characters; anything else could split the header */
        for (size_t i = 0; i < n; i++) {
            unsigned char ch = (unsigned char)t[i];
            if (ch <= 0x20 || ch >= 0x7f) {
                why = "token response: access_token has characters not allowed in a header";
                goto out;
            }
        }
        if (n > HL_DISPATCH_TOKEN_RESPONSE_MAX) {
            why = "token response: access_token too long";
            goto out;
        }
        size_t cap = n + sizeof "Authorization: Bearer ";
        if ((*auth_line = malloc(cap)) == NULL) {
            rc = HL_E_NOMEM;
            why = "out of memory";
            goto out;
        }
        snprintf(*auth_line, cap, "Authorization: Bearer %s", t);
        rc = HL_OK;
    }
out:
    if (root) {
        /* the token sits in jansson's copy too: wipe it before it goes */
        json_t *t = json_object_get(root, "access_token");
        if (json_is_string(t))
            OPENSSL_cleanse((char *)json_string_value(t), json_string_length(t));
        json_decref(root);
    }
    if (rc != HL_OK)
        failf(err, rc, why);
    return rc;
}

uint64_t hli_oauth2_refresh_at(uint64_t now_ms, uint64_t expires_in_s)
{
    uint64_t life, early;
    if (expires_in_s == 0)
        return UINT64_MAX;
    if (expires_in_s > UINT64_MAX / 2000)
        return UINT64_MAX;
    life = expires_in_s * 1000u;
    early = life / 5 < 60000 ? life / 5 : 60000;
    return now_ms + life - early;
}
