/* src/core/mediagc.h: uploads nobody needs any more. Mastodon removes an
 * upload never attached to a status after a day; kith does the same, and
 * also removes the uploads of statuses deleted more than a day ago (the
 * day leaves "delete and redraft" its media). The day is the config's
 * media_keep. Files are named by content
 * and may be shared by several uploads and by profile images: a file goes
 * only when no upload left and no local person's avatar or header uses it.
 *
 * Table media_due says when to look at an upload again: media_keep after
 * it was made (media_due_add, with the upload) and after the status it was
 * attached to was deleted (post_deleted).
 *
 * Layer: core. media_sweep runs in a write transaction; the files it names
 * are unlinked after the commit (media_unlink), never before, so a failed
 * commit loses nothing.
 */
#ifndef KITH_CORE_MEDIAGC_H
#define KITH_CORE_MEDIAGC_H

#include "core.h"

#define MEDIA_SWEEP_MAX 64 /* uploads looked at by one sweep, at most */

struct media_gone {
    size_t n;
    char names[MEDIA_SWEEP_MAX * 2][96]; /* files, under data_dir/media */
};

/* Looks at upload id again keep seconds after since (its upload, or its
 * status's deletion). */
int media_due_add(struct kv_txn *txn, uint64_t id, int64_t since);
/* Whether an upload is due to be looked at by now. */
bool media_sweep_due(struct kv_txn *txn, int64_t now, int64_t keep);
/* Removes (in txn) the records of the uploads due by now that nothing
 * needs, and names in gone the files nothing else uses. */
int media_sweep(struct kv_txn *txn, int64_t now, int64_t keep, struct media_gone *gone);
/* Unlinks gone's files from media_dir (after the sweep committed). */
void media_unlink(const char *media_dir, const struct media_gone *gone);

#endif
