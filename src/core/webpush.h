/* src/core/webpush.h: Web Push for Mastodon apps: subscriptions (one per
 * access token), payloads encrypted for the subscriber (RFC 8291,
 * aes128gcm) and the instance's VAPID signature (RFC 8292, ES256).
 *
 * Layer: core (OpenSSL; no JSON library: the small payload is written by
 * hand). webpush_notify runs inside notify_add's write transaction: it
 * encrypts one message per subscription that wants the notification and
 * schedules it like an outgoing activity (tables outgoing and deliveries,
 * sender SENDER_PUSH), so the delivery engine sends it with its retries.
 */
#ifndef KITH_CORE_WEBPUSH_H
#define KITH_CORE_WEBPUSH_H

#include "core.h"

/* Delivery jobs whose sender has this bit are Web Push messages: the body
 * is already encrypted; the request carries a VAPID Authorization. */
#define SENDER_PUSH       (1ull << 62)
#define SENDER_IS_PUSH(s) (((s)&SENDER_PUSH) != 0 && !SENDER_IS_COMMUNITY(s))

/* The alert types a subscription may ask for (Mastodon's names). */
#define PUSH_ALERTS 9
extern const char *const push_alert_names[PUSH_ALERTS];

enum push_policy { PUSH_ALL = 0, PUSH_FOLLOWED = 1, PUSH_FOLLOWER = 2, PUSH_NONE = 3 };
extern const char *const push_policy_names[4];

/* The subscription of a token (table push_subs, keyed by its hash). A new
 * one (s->push_token empty) gets a token of its own for its payloads
 * (scope read:notifications, app app_id), revoked with it; deleting a
 * missing subscription is KITH_ENOTFOUND. */
int push_sub_get(struct kv_txn *txn, struct str token_hash, struct arena *a, struct push_sub *out);
int push_sub_put(struct kv_txn *txn, const struct push_sub *s, uint64_t app_id);
int push_sub_delete(struct kv_txn *txn, struct str token_hash);
/* The access token value is gone (revoked): its subscription goes too. */
int push_sub_forget_token(struct kv_txn *txn, struct str value);

/* Sends notification n (just stored) to account's subscriptions that want
 * its type. title and body are plain text; icon the sender's avatar URL. */
int webpush_notify(struct kv_txn *txn, struct core *core, const struct notification *n,
                   const char *title, const char *body, const char *icon);

/* RFC 8291: plaintext encrypted for p256dh and auth (base64url, as the
 * client gave them) into out (the aes128gcm body). KITH_EINVAL for keys
 * that do not decode. */
int webpush_encrypt(struct str p256dh, struct str auth, struct str plaintext, struct buf *out);

/* RFC 8292: "vapid t=JWT, k=KEY" for a request to endpoint, signed with
 * the instance's key (meta vapid_private_key, PEM; vapid_public_key,
 * base64url), subject a mailto: or https: URL, valid 12 hours from now. */
int webpush_vapid(struct kv_txn *txn, const char *endpoint, const char *subject, int64_t now,
                  struct buf *out);

#endif
