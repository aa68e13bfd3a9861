package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

func TestSummaryShowsPlainFieldsAndNeverSecretsOrContent(t *testing.T) {
	long := strings.Repeat("é", 200)
	for _, tc := range []struct{ payload, want string }{
		{"CH0123", "CH0123"},
		{`{"url":"https://u:pw@hooks.example.com/a/b?token=x#f","method":"POST","retries":3,"ok":true}`,
			"method=POST ok=true retries=3 url=https://hooks.example.com/a/b"},
		{`{"Secret":"s","auth_token":"t","Token":"i","body":"hello","params":{"Body":"hi"},"api_key":"k","event":"onMessageAdded"}`,
			"event=onMessageAdded"},
		{`{"message":{"Body":"hi"},"list":[1],"none":null}`, "list=… message=…"},
		{long, strings.Repeat("é", 80) + "…"},
		{`{"error":"POST https://u:pw@h.example.com/x?k=1 failed"}`, "error=POST https://h.example.com/x failed"},
	} {
		if got := jobs.Summary(tc.payload); got != tc.want {
			t.Errorf("Summary(%.40s) = %q, want %q", tc.payload, got, tc.want)
		}
	}
}

func TestRedactCutsCredentialsOutOfEveryURLInAText(t *testing.T) {
	got := jobs.Redact(`onMessageAdded webhook to https://user:pw@hooks.example.com/in?token=abc#x: dial tcp: refused; "http://h.example.com/a?sig=1" too`)
	want := `onMessageAdded webhook to https://hooks.example.com/in dial tcp: refused; "http://h.example.com/a" too`
	if got != want {
		t.Fatalf("Redact = %q\nwant     %q", got, want)
	}
}

func TestRetryingAFailedJobRunsItAgainOnceUnlessATwinAlreadyWill(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
		now := time.Now().UTC()
		r.Now = func() time.Time { return now }
		broken := true
		runs := map[string]int{}
		r.Handle("hook", func(ctx context.Context, p string) error {
			runs[p]++
			if broken {
				return jobs.Permanent(errors.New("down"))
			}
			return nil
		})
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := jobs.Enqueue(tx, "hook", "a", now); err != nil {
				return err
			}
			return jobs.Schedule(tx, "hook", "key-b", "b", now)
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := r.RunDue(ctx); n != 2 {
			t.Fatalf("ran %d", n)
		}
		kinds, err := r.FailedKinds(ctx)
		if err != nil || len(kinds) != 1 || kinds[0].Kind != "hook" || kinds[0].Count != 2 {
			t.Fatalf("failed kinds %+v %v", kinds, err)
		}
		failed, _ := r.FailedJobs(ctx, "hook", 10)
		if len(failed) != 2 {
			t.Fatalf("failed %+v", failed)
		}
		// b's work is scheduled again before anyone retries the failed b.
		if err := d.InTx(ctx, func(tx *db.Tx) error { return jobs.Schedule(tx, "hook", "key-b", "b", now) }); err != nil {
			t.Fatal(err)
		}
		broken = false
		for _, j := range failed {
			merged, err := r.Retry(ctx, j.ID)
			if err != nil {
				t.Fatalf("retry %d: %v", j.ID, err)
			}
			if want := j.Payload == "b"; merged != want {
				t.Fatalf("retry of %q merged with a pending twin: %v, want %v", j.Payload, merged, want)
			}
		}
		if n, _ := r.RunDue(ctx); n != 2 || runs["a"] != 2 || runs["b"] != 2 {
			t.Fatalf("after retry ran %d: %v (b's twin runs once, the retried b not again)", n, runs)
		}
		if left, _ := r.FailedJobs(ctx, "", 10); len(left) != 0 {
			t.Fatalf("failed jobs left %+v", left)
		}
		if _, err := r.Retry(ctx, failed[0].ID); err == nil || !strings.Contains(err.Error(), "not a failed job") {
			t.Fatalf("retrying a job that ran: %v", err)
		}
		if n, err := r.RetryKind(ctx, "hook"); n != 0 || err != nil {
			t.Fatalf("RetryKind with none failed = %d, %v", n, err)
		}
	})
}
