package insights

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gorm.io/gorm/clause"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// SeedDemo writes a plausible history of tasks for the days before now's
// (the last days whole days, in the server's time zone) over the
// workspace's queues, workers, chat/SMS/WhatsApp channels and
// dispositions, so a demo's insights have something to show. The history
// is the same for the same workspace and day (a seeded random source, SIDs
// derived from it), and rows already there are kept: it can run on every
// start, and a later start only adds the days it had not seen.
func SeedDemo(ctx context.Context, d *db.DB, workspaceSid string, days int, now time.Time) error {
	q := d.Gorm.WithContext(ctx)
	var queues, workers, channels, dispositions []string
	for _, l := range []struct {
		dst   *[]string
		query string
	}{
		{&queues, "SELECT sid FROM task_queues WHERE workspace_sid = ? ORDER BY sid"},
		{&workers, "SELECT sid FROM workers WHERE workspace_sid = ? ORDER BY sid"},
		{&channels, "SELECT sid FROM task_channels WHERE workspace_sid = ? AND unique_name IN ('chat', 'sms', 'whatsapp') ORDER BY unique_name"},
		{&dispositions, "SELECT code FROM desk_dispositions WHERE workspace_sid = ? AND active ORDER BY code"},
	} {
		if err := q.Raw(l.query, workspaceSid).Scan(l.dst).Error; err != nil {
			return errs.Wrap(err, "insights demo")
		}
	}
	if len(queues) == 0 || len(workers) == 0 || len(channels) == 0 {
		return nil // nothing to attribute tasks to
	}
	y, m, dd := now.In(time.Local).Date()
	today := time.Date(y, m, dd, 0, 0, 0, 0, time.Local)
	var facts []Fact
	for i := days; i >= 1; i-- {
		day := today.AddDate(0, 0, -i)
		facts = append(facts, demoDay(workspaceSid, day, queues, workers, channels, dispositions)...)
	}
	return d.InTx(ctx, func(tx *db.Tx) error {
		return tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(facts, 500).Error
	})
}

// demoDay is one day of demo tasks: fewer at weekends, most in office
// hours; about 7% abandoned (a third of those within seconds), the rest
// answered in under two minutes mostly, 5% transferred.
func demoDay(workspaceSid string, day time.Time, queues, workers, channels, dispositions []string) []Fact {
	seed := sha256.Sum256([]byte(workspaceSid + day.Format(time.DateOnly)))
	rng := rand.New(rand.NewPCG(binary.BigEndian.Uint64(seed[:8]), binary.BigEndian.Uint64(seed[8:16])))
	volume := 90 + rng.IntN(40)
	if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
		volume /= 3
	}
	facts := make([]Fact, 0, volume)
	for n := range volume {
		// Office hours, busiest mid-morning and mid-afternoon.
		hour := 8 + rng.IntN(10)
		if rng.IntN(3) == 0 {
			hour = []int{10, 11, 14, 15}[rng.IntN(4)]
		}
		created := day.Add(time.Duration(hour)*time.Hour + time.Duration(rng.IntN(3600))*time.Second).UTC()
		sum := sha256.Sum256([]byte(fmt.Sprintf("%x/%d", seed, n)))
		f := Fact{TaskSid: "WT" + hex.EncodeToString(sum[:16]), WorkspaceSid: workspaceSid,
			TaskQueueSid: queues[rng.IntN(len(queues))], TaskChannelSid: channels[rng.IntN(len(channels))], CreatedAt: created}
		entered := created
		f.EnteredAt = &entered
		wait := time.Duration(math.Min(rng.ExpFloat64()*35, 600)*1000) * time.Millisecond
		if rng.IntN(100) < 7 {
			if rng.IntN(3) == 0 {
				wait = time.Duration(1+rng.IntN(9)) * time.Second
			}
			at := created.Add(wait)
			f.CanceledAt, f.Abandoned, f.WaitMs = &at, true, millis(created, at)
			facts = append(facts, f)
			continue
		}
		accepted := created.Add(wait)
		f.AcceptedAt, f.WaitMs = &accepted, millis(created, accepted)
		f.WorkerSid = workers[rng.IntN(len(workers))]
		first := time.Duration(5+rng.IntN(80)) * time.Second
		wrap := time.Duration(15+rng.IntN(90)) * time.Second
		talk := time.Duration(120+rng.IntN(600)) * time.Second
		fr, wrapAt, done := accepted.Add(first), accepted.Add(talk), accepted.Add(talk+wrap)
		f.FirstResponseAt, f.FirstResponseMs = &fr, millis(accepted, fr)
		f.WrapupAt, f.CompletedAt, f.HandleMs, f.WrapMs = &wrapAt, &done, millis(accepted, done), millis(wrapAt, done)
		f.FinalWorkerSid = f.WorkerSid
		if rng.IntN(100) < 5 {
			f.Transfers = 1
		}
		if len(dispositions) > 0 {
			f.Disposition = dispositions[rng.IntN(len(dispositions))]
		}
		facts = append(facts, f)
	}
	return facts
}
