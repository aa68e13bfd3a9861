package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// KindCount is how many jobs of a kind failed for good.
type KindCount struct {
	Kind  string
	Count int64
}

// FailedKinds counts failed jobs by kind, by kind name.
func (r *Runner) FailedKinds(ctx context.Context) ([]KindCount, error) {
	var out []KindCount
	err := r.db.Gorm.WithContext(ctx).Model(&Job{}).Select("kind, COUNT(*) AS count").Where("status = ?", StatusFailed).
		Group("kind").Order("kind").Scan(&out).Error
	return out, errs.Wrap(err, "failed job kinds")
}

// FailedJobs lists jobs that failed for good, newest first, only those of
// kind unless it is "".
func (r *Runner) FailedJobs(ctx context.Context, kind string, limit int) ([]Job, error) {
	q := r.db.Gorm.WithContext(ctx).Where("status = ?", StatusFailed)
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	var out []Job
	err := q.Order("date_updated DESC, id DESC").Limit(limit).Find(&out).Error
	return out, errs.Wrap(err, "failed jobs")
}

// Retry makes a failed job due now with a fresh count of attempts, and
// wakes the runners to run it. merged reports that it did not: a pending
// twin (same dedupe key) already carries its work, so it was marked done.
func (r *Runner) Retry(ctx context.Context, id int64) (merged bool, err error) {
	err = r.db.InTx(ctx, func(tx *db.Tx) error {
		var n int64
		if err := tx.Model(&Job{}).Where("id = ? AND status = ?", id, StatusFailed).Count(&n).Error; err != nil {
			return err
		}
		if n == 0 {
			return errs.NotFoundf("Job %d is not a failed job: it may have been retried already", id)
		}
		merged, err = r.retryTx(tx, id)
		return err
	})
	return merged, errs.Wrap(err, "retry failed job")
}

// RetryKind retries every failed job of a kind and reports how many.
func (r *Runner) RetryKind(ctx context.Context, kind string) (int, error) {
	var n int
	err := r.db.InTx(ctx, func(tx *db.Tx) error {
		var ids []int64
		if err := tx.Model(&Job{}).Where("status = ? AND kind = ?", StatusFailed, kind).Pluck("id", &ids).Error; err != nil {
			return err
		}
		for _, id := range ids {
			if _, err := r.retryTx(tx, id); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, errs.Wrap(err, "retry failed jobs")
}

// retryTx makes the failed job id pending, due now. A job with a dedupe
// key may have a pending twin already (scheduled after it failed): the
// twin carries the work, so this one is marked done instead (merged).
func (r *Runner) retryTx(tx *db.Tx, id int64) (merged bool, err error) {
	now := r.Now()
	var j Job
	if err := tx.Where("id = ?", id).Take(&j).Error; err != nil {
		return false, err
	}
	if j.DedupeKey != nil {
		var twins int64
		if err := tx.Model(&Job{}).Where("dedupe_key = ? AND status = ?", *j.DedupeKey, StatusPending).Count(&twins).Error; err != nil {
			return false, err
		}
		if twins > 0 {
			return true, tx.Model(&Job{}).Where("id = ?", id).Updates(map[string]any{"status": StatusDone, "date_updated": now}).Error
		}
	}
	if err := tx.Model(&Job{}).Where("id = ?", id).Updates(map[string]any{
		"status": StatusPending, "run_at": now, "attempts": 0, "date_updated": now,
	}).Error; err != nil {
		return false, err
	}
	return false, tx.Notify(wakeChannel, "")
}

// maxSummary bounds a payload summary, in bytes.
const maxSummary = 160

// sensitive names payload fields whose values are never shown.
var sensitive = []string{"secret", "token", "password", "auth", "key", "signature", "body", "params", "media"}

// Summary describes a job's payload for people looking at failed jobs,
// without what it may carry that they should not see: a JSON object shows
// its plain fields, with URLs cut to scheme, host and path and fields
// named like secrets, tokens or message content left out; other payloads
// (a SID) show as they are. Long summaries are cut.
func Summary(payload string) string {
	var obj map[string]any
	if err := json.Unmarshal([]byte(payload), &obj); err != nil {
		return cut(Redact(strings.TrimSpace(payload)))
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		if isSensitive(k) {
			continue
		}
		switch v := obj[k].(type) {
		case string:
			parts = append(parts, k+"="+Redact(v))
		case float64, bool:
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		case nil:
		default:
			parts = append(parts, k+"=…")
		}
	}
	return cut(strings.Join(parts, " "))
}

func isSensitive(field string) bool {
	f := strings.ToLower(field)
	return slices.ContainsFunc(sensitive, func(s string) bool { return strings.Contains(f, s) })
}

// webURL finds the URLs in a text.
var webURL = regexp.MustCompile(`(?i)\bhttps?://[^\s"'<>]+`)

// Redact cuts the user information, query and fragment out of every URL
// in text (a job's last error names the URL it called), since they may
// hold credentials.
func Redact(text string) string {
	return webURL.ReplaceAllStringFunc(text, redactURL)
}

// redactURL keeps scheme, host and path of an absolute URL: its user
// information and query may hold credentials.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return v
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

func cut(s string) string {
	if len(s) <= maxSummary {
		return s
	}
	i := maxSummary
	for i > 0 && !utf8Start(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// utf8Start reports whether b begins a UTF-8 sequence.
func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
