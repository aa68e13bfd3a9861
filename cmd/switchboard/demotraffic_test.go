package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// The demo traffic goes through the real paths: a simulated customer's
// text opens a conversation and a task, a bot accepts the offer, greets,
// hears back from the customer, ends the chat and completes the task with
// an outcome.
func TestDemoTrafficPlaysACustomerThatABotServesToTheEnd(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		s := startDeskSeed(t, d)
		s.seed(t)
		log := slog.New(slog.DiscardHandler)
		traffic, err := newDemoTraffic(ctx, s.tr, s.desk, s.staff, s.ch, s.dev.net, log, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		if err := traffic.botsAvailable(ctx); err != nil {
			t.Fatal(err)
		}
		router := taskrouter.NewRouter(s.tr, log)
		ws := traffic.workspace
		start := time.Now()
		at := func(after time.Duration) {
			t.Helper()
			if _, err := router.RouteWorkspace(ctx, ws); err != nil {
				t.Fatal(err)
			}
			if err := traffic.step(ctx, start.Add(after)); err != nil {
				t.Fatal(err)
			}
		}
		at(0) // a customer writes, reaching the server after the carrier's latency
		var tasks []taskrouter.Task
		for deadline := time.Now().Add(10 * time.Second); len(tasks) == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			s.runJobs(t)
			if tasks, _, err = s.tr.Tasks(ctx, ws, taskrouter.TaskFilter{}, taskrouter.Page{Limit: 10}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := router.RouteWorkspace(ctx, ws); err != nil {
			t.Fatal(err)
		}
		if len(tasks) != 1 || !strings.Contains(tasks[0].Attributes, demoPhonePrefix) {
			t.Fatalf("after the first tick: tasks %+v, %v; want one from a demo customer", tasks, err)
		}
		task := tasks[0]
		var attrs struct {
			ConversationSid string `json:"conversationSid"`
		}
		_ = json.Unmarshal([]byte(task.Attributes), &attrs)

		at(15 * time.Second) // a bot accepts the offer
		if rs, _, _ := s.tr.Reservations(ctx, ws, taskrouter.ReservationFilter{TaskSid: task.Sid, ReservationStatus: "accepted"}, taskrouter.Page{Limit: 1}); len(rs) != 1 {
			t.Fatalf("no bot accepted the offer of %s", task.Sid)
		}
		at(20 * time.Second) // and greets
		// The customer writes back through the carrier a few seconds later.
		var thread []conversations.Message
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if thread, err = s.dev.conv.MessagesAfter(ctx, attrs.ConversationSid, -1, 50); err != nil {
				t.Fatal(err)
			}
			if len(thread) >= 3 {
				break
			}
			s.runJobs(t)
		}
		if len(thread) < 3 || !strings.HasSuffix(thread[1].Author, ".bot@example.com") || !strings.Contains(thread[2].Author, demoPhonePrefix) {
			t.Fatalf("the thread after the greeting: %+v; want the question, the bot's greeting, the customer's answer", thread)
		}
		at(10 * time.Minute) // the bot closes and ends the chat
		at(30 * time.Minute) // and completes the task
		done, err := s.tr.Task(ctx, ws, task.Sid)
		if err != nil {
			t.Fatal(err)
		}
		var outcome struct {
			Disposition string `json:"disposition"`
		}
		_ = json.Unmarshal([]byte(done.Attributes), &outcome)
		if done.AssignmentStatus != "completed" || outcome.Disposition == "" {
			t.Fatalf("the task ends %s with disposition %q; want completed with one", done.AssignmentStatus, outcome.Disposition)
		}
	})
}
