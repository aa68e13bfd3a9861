package realtime_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/realtime"
)

// within bounds every wait for an event that should arrive.
const within = 15 * time.Second

var discard = slog.New(slog.DiscardHandler)

// startHub runs a node's bus and hub on d until the test ends, once the
// node hears its own signals (a Postgres listener takes a moment to attach).
func startHub(t *testing.T, d *db.DB, opts realtime.Options) *realtime.Hub {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := realtime.NewHub(events.NewBus(ctx, d, discard), d, discard, opts)
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitHears(t, h, h)
	return h
}

// waitHears signals from one hub until a connection on another receives it.
func waitHears(t *testing.T, from, to *realtime.Hub) {
	t.Helper()
	probe := "CHprobe" + randomHex()
	c := to.Connect()
	defer c.Close()
	c.Subscribe(probe)
	deadline := time.After(within)
	for {
		if err := from.Signal(context.Background(), events.Event{Type: events.TypingStarted, ConversationSid: probe}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-c.Events():
			return
		case <-time.After(100 * time.Millisecond):
		case <-deadline:
			t.Fatal("the hub never heard its probe signal")
		}
	}
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// commit publishes evs in one transaction.
func commit(t *testing.T, d *db.DB, evs ...events.Event) {
	t.Helper()
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		for _, ev := range evs {
			if err := events.Publish(tx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func message(conversation string, index int64) events.Event {
	return events.Event{Type: events.MessageAdded, ConversationSid: conversation, Sid: fmt.Sprintf("IM%d", index), Index: &index}
}

// key names an event briefly for comparisons.
func key(ev events.Event) string {
	if ev.Index != nil {
		return fmt.Sprintf("%s#%d", ev.ConversationSid, *ev.Index)
	}
	return ev.ConversationSid + ":" + string(ev.Type)
}

// sentinel is a conversation every connection of a test subscribes to: the
// hub dispatches in commit order, so once a connection receives an event of
// it, it has received everything committed before.
const sentinel = "CHsentinel"

var mark = events.Event{Type: events.ConversationUpdated, ConversationSid: sentinel}

// until returns the keys of the events c receives before the next mark.
func until(t *testing.T, c *realtime.Conn) []string {
	t.Helper()
	got, err := untilMark(c)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func untilMark(c *realtime.Conn) ([]string, error) {
	got := []string{}
	deadline := time.After(within)
	for {
		select {
		case ev := <-c.Events():
			if *ev == mark {
				return got, nil
			}
			got = append(got, key(*ev))
		case <-c.CutOff():
			return got, fmt.Errorf("cut off after %v", got)
		case <-deadline:
			return got, fmt.Errorf("no mark after %v", got)
		}
	}
}

func TestCommittedEventsReachExactlyTheirConversationsSubscribersInCommitOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		h := startHub(t, d, realtime.Options{})
		const a, b = "CHa", "CHb"
		onA, onB, onBoth, onNone := h.Connect(), h.Connect(), h.Connect(), h.Connect()
		for _, c := range []*realtime.Conn{onA, onB, onBoth, onNone} {
			c.Subscribe(sentinel)
		}
		onA.Subscribe(a)
		onB.Subscribe(b)
		onBoth.Subscribe(a)
		onBoth.Subscribe(b)
		onBoth.Subscribe(a) // twice changes nothing

		commit(t, d, message(a, 0), message(a, 1))
		commit(t, d, message(b, 0))
		rolledBack := errors.New("rolled back")
		err := d.InTx(context.Background(), func(tx *db.Tx) error {
			if err := events.Publish(tx, message(a, 99)); err != nil {
				return err
			}
			return rolledBack
		})
		if !errors.Is(err, rolledBack) {
			t.Fatalf("InTx = %v", err)
		}
		commit(t, d, events.Event{Type: events.ServiceUpdated, ServiceSid: "IS1"}) // no conversation: no topic
		commit(t, d, message(a, 2))
		commit(t, d, mark)

		for name, tc := range map[string]struct {
			c    *realtime.Conn
			want []string
		}{
			"subscribed to a":    {onA, []string{"CHa#0", "CHa#1", "CHa#2"}},
			"subscribed to b":    {onB, []string{"CHb#0"}},
			"subscribed to both": {onBoth, []string{"CHa#0", "CHa#1", "CHb#0", "CHa#2"}},
			"subscribed to none": {onNone, []string{}},
		} {
			if got := until(t, tc.c); !slices.Equal(got, tc.want) {
				t.Errorf("%s received %v, want %v", name, got, tc.want)
			}
		}

		onA.Unsubscribe(a)
		onA.Unsubscribe("CHnever") // not subscribed: nothing happens
		commit(t, d, message(a, 3))
		commit(t, d, mark)
		if got := until(t, onA); len(got) != 0 {
			t.Errorf("after unsubscribing, a connection received %v", got)
		}
		if got := until(t, onBoth); !slices.Equal(got, []string{"CHa#3"}) {
			t.Errorf("a connection still subscribed received %v, want [CHa#3]", got)
		}
		if s := h.Stats(); s != (realtime.Stats{Conns: 4, Topics: 3}) {
			t.Errorf("Stats = %+v, want 4 conns on 3 topics", s)
		}
	})
}

func TestAnEventOnSeveralOfAConnsTopicsArrivesOnce(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	h := startHub(t, d, realtime.Options{Topics: func(ev events.Event) []string {
		ts := []string{ev.ConversationSid}
		if ev.ServiceSid != "" {
			ts = append(ts, "service:"+ev.ServiceSid)
		}
		return ts
	}})
	agent, supervisor := h.Connect(), h.Connect()
	for _, c := range []*realtime.Conn{agent, supervisor} {
		c.Subscribe(sentinel)
	}
	agent.Subscribe("CHa")
	agent.Subscribe("service:IS1")
	supervisor.Subscribe("service:IS1")
	ev := message("CHa", 0)
	ev.ServiceSid = "IS1"
	commit(t, d, ev)
	commit(t, d, mark)
	for name, c := range map[string]*realtime.Conn{"on both topics": agent, "on one topic": supervisor} {
		if got := until(t, c); !slices.Equal(got, []string{"CHa#0"}) {
			t.Errorf("the connection %s received %v, want [CHa#0] once", name, got)
		}
	}
}

func TestEveryConnGetsEveryEventOfItsTopicsOnceAndInCommitOrderUnderConcurrentPublishers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const (
			conns      = 200
			topics     = 8
			publishers = 4 // per topic, all at once
			perPub     = 15
			perTopic   = publishers * perPub
		)
		ctx := context.Background()
		// A counter per conversation, incremented in each publishing
		// transaction like a message index: commit order is index order.
		if err := d.Gorm.Exec("CREATE TABLE rt_seq (topic TEXT PRIMARY KEY, n INTEGER NOT NULL)").Error; err != nil {
			t.Fatal(err)
		}
		topic := func(i int) string { return fmt.Sprintf("CH%02d", i%topics) }
		for i := range topics {
			if err := d.Gorm.Exec("INSERT INTO rt_seq (topic, n) VALUES (?, 0)", topic(i)).Error; err != nil {
				t.Fatal(err)
			}
		}
		h := startHub(t, d, realtime.Options{})

		type result struct {
			want []string // topics
			got  map[string][]int64
			err  error
		}
		results := make([]result, conns)
		var readers sync.WaitGroup
		for i := range conns {
			c := h.Connect()
			c.Subscribe(sentinel)
			results[i].want = []string{topic(i)}
			c.Subscribe(topic(i))
			if i%5 == 0 {
				results[i].want = append(results[i].want, topic(i+1))
				c.Subscribe(topic(i + 1))
			}
			readers.Go(func() {
				r := &results[i]
				r.got = map[string][]int64{}
				for {
					select {
					case ev := <-c.Events():
						if *ev == mark {
							return
						}
						r.got[ev.ConversationSid] = append(r.got[ev.ConversationSid], *ev.Index)
					case <-c.CutOff():
						r.err = errors.New("cut off")
						return
					case <-time.After(within):
						r.err = errors.New("no mark")
						return
					}
				}
			})
		}

		var pubs sync.WaitGroup
		for i := range topics * publishers {
			pubs.Go(func() {
				for range perPub {
					err := d.InTx(ctx, func(tx *db.Tx) error {
						var n int64
						if err := tx.Raw("UPDATE rt_seq SET n = n + 1 WHERE topic = ? RETURNING n", topic(i)).Scan(&n).Error; err != nil {
							return err
						}
						return events.Publish(tx, events.Event{Type: events.MessageAdded, ConversationSid: topic(i), Index: &n})
					})
					if err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		pubs.Wait()
		commit(t, d, mark)
		readers.Wait()

		want := make([]int64, perTopic)
		for i := range want {
			want[i] = int64(i + 1)
		}
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("conn %d: %v", i, r.err)
			}
			if len(r.got) != len(r.want) {
				t.Fatalf("conn %d subscribed to %v received topics %v", i, r.want, r.got)
			}
			for _, tp := range r.want {
				if !slices.Equal(r.got[tp], want) {
					t.Fatalf("conn %d received %s indexes %v, want 1..%d once each in order", i, tp, r.got[tp], perTopic)
				}
			}
		}
		if s := h.Stats(); s.CutOff != 0 || s.Conns != conns {
			t.Errorf("Stats = %+v, want %d conns and no cut-off", s, conns)
		}
	})
}

func TestASlowConsumerIsCutOffWithoutDelayingTheOthers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		const (
			buffer = 16
			fast   = 10
			rounds = 5
			batch  = 10 // per round, below the buffer: a fast conn never falls behind
		)
		h := startHub(t, d, realtime.Options{ConnBuffer: buffer})
		slow := h.Connect()
		slow.Subscribe("CHa")

		type reader struct {
			c    *realtime.Conn
			got  []string
			read chan struct{} // a round read
		}
		readers := make([]*reader, fast)
		var wg sync.WaitGroup
		for i := range readers {
			r := &reader{c: h.Connect(), read: make(chan struct{})}
			r.c.Subscribe("CHa")
			readers[i] = r
			wg.Go(func() {
				for range rounds {
					for range batch {
						select {
						case ev := <-r.c.Events():
							r.got = append(r.got, key(*ev))
						case <-r.c.CutOff():
							t.Error("a connection that keeps up was cut off")
							return
						case <-time.After(within):
							t.Error("a connection that keeps up stopped receiving")
							return
						}
					}
					r.read <- struct{}{}
				}
			})
		}
		var want []string
		for round := range rounds {
			var evs []events.Event
			for i := range batch {
				ev := message("CHa", int64(round*batch+i))
				evs = append(evs, ev)
				want = append(want, key(ev))
			}
			for _, ev := range evs {
				commit(t, d, ev)
			}
			for _, r := range readers {
				select {
				case <-r.read:
				case <-time.After(within):
					t.Fatalf("round %d was not read", round)
				}
			}
		}
		wg.Wait()

		select {
		case <-slow.CutOff():
		default:
			t.Fatal("the connection that never reads was not cut off")
		}
		if n := len(slow.Events()); n != buffer {
			t.Errorf("the slow connection holds %d events, want its full buffer of %d", n, buffer)
		}
		for i, r := range readers {
			if !slices.Equal(r.got, want) {
				t.Fatalf("reader %d received %v, want %v", i, r.got, want)
			}
		}
		slow.Close() // after a cut-off: nothing changes
		slow.Subscribe("CHb")
		if s := h.Stats(); s != (realtime.Stats{Conns: fast, Topics: 1, CutOff: 1}) {
			t.Errorf("Stats = %+v, want %d conns on 1 topic and 1 cut-off", s, fast)
		}
	})
}

func TestSignalsReachOnlyTheirConversationsSubscribers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		h := startHub(t, d, realtime.Options{})
		watching, elsewhere := h.Connect(), h.Connect()
		for _, c := range []*realtime.Conn{watching, elsewhere} {
			c.Subscribe(sentinel)
		}
		watching.Subscribe("CHa")
		elsewhere.Subscribe("CHb")
		for _, typ := range []events.Type{events.TypingStarted, events.TypingEnded} {
			if err := h.Signal(ctx, events.Event{Type: typ, ConversationSid: "CHa", Sid: "MBguest"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.Signal(ctx, mark); err != nil {
			t.Fatal(err)
		}
		if got, want := until(t, watching), []string{"CHa:typingStarted", "CHa:typingEnded"}; !slices.Equal(got, want) {
			t.Errorf("the conversation's subscriber received %v, want %v", got, want)
		}
		if got := until(t, elsewhere); len(got) != 0 {
			t.Errorf("another conversation's subscriber received %v", got)
		}
	})
}

func TestSignalRejectsAnEventThatReachesNoOne(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	h := startHub(t, d, realtime.Options{})
	for name, ev := range map[string]events.Event{
		"no type":         {ConversationSid: "CHa"},
		"no conversation": {Type: events.TypingStarted, Sid: "MBguest"},
	} {
		if err := h.Signal(context.Background(), ev); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: Signal = %v, want an invalid-input error", name, err)
		}
	}
}

func TestSignalsAndCommitsOnOneNodeReachConnsOnAnother(t *testing.T) {
	url := dbtest.PostgresURL(t)
	open := func() *db.DB {
		d, err := db.Open(context.Background(), db.Options{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = d.Close() })
		return d
	}
	nodeA, nodeB := open(), open()
	if err := nodeA.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	hubA := startHub(t, nodeA, realtime.Options{})
	hubB := startHub(t, nodeB, realtime.Options{})
	waitHears(t, hubA, hubB)

	onA, onB := hubA.Connect(), hubB.Connect()
	for _, c := range []*realtime.Conn{onA, onB} {
		c.Subscribe(sentinel)
		c.Subscribe("CHa")
	}
	if err := hubA.Signal(context.Background(), events.Event{Type: events.TypingStarted, ConversationSid: "CHa", Sid: "MBguest"}); err != nil {
		t.Fatal(err)
	}
	commit(t, nodeA, message("CHa", 0))
	commit(t, nodeA, mark)
	want := []string{"CHa:typingStarted", "CHa#0"}
	for name, c := range map[string]*realtime.Conn{"node A": onA, "node B": onB} {
		if got := until(t, c); !slices.Equal(got, want) {
			t.Errorf("a connection on %s received %v, want %v", name, got, want)
		}
	}
}

func TestCloseIsIdempotentAndEndsSendsEvenDuringDispatch(t *testing.T) {
	d := dbtest.Open(t, db.SQLite)
	h := startHub(t, d, realtime.Options{ConnBuffer: 32})
	watcher := h.Connect()
	watcher.Subscribe(sentinel)

	stop := make(chan struct{})
	var pub sync.WaitGroup
	pub.Go(func() {
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			err := d.InTx(context.Background(), func(tx *db.Tx) error { return events.Publish(tx, message("CHa", i)) })
			if err != nil {
				t.Error(err)
				return
			}
		}
	})

	type closedConn struct {
		c        *realtime.Conn
		buffered int // events in its buffer when Close returned
	}
	var mu sync.Mutex
	var closedConns []closedConn
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			for range 10 {
				c := h.Connect()
				c.Subscribe("CHa")
				c.Subscribe(sentinel)
				select {
				case <-c.Events():
				case <-time.After(time.Millisecond):
				}
				var both sync.WaitGroup
				for range 2 {
					both.Go(c.Close)
				}
				both.Wait()
				c.Close()
				mu.Lock()
				closedConns = append(closedConns, closedConn{c, len(c.Events())})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(stop)
	pub.Wait()
	commit(t, d, message("CHa", -1), mark)
	until(t, watcher) // everything committed has been dispatched

	for i, cc := range closedConns {
		if n := len(cc.c.Events()); n != cc.buffered {
			t.Fatalf("closed conn %d had %d events buffered at Close and %d later", i, cc.buffered, n)
		}
	}
	if s := h.Stats(); s.Conns != 1 || s.Topics != 1 {
		t.Errorf("Stats = %+v, want only the watcher on the sentinel", s)
	}
}

// countingSource is a Source whose drop count the test sets at each of the
// hub's reads, so a burst of drops can be staged exactly.
type countingSource struct {
	evs   chan events.Event
	drops chan int64
}

func (s countingSource) Subscribe(int) (<-chan events.Event, func()) { return s.evs, func() {} }
func (s countingSource) Dropped() int64                              { return <-s.drops }

// lockedBuffer collects log output written from the hub's goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func TestTheHubLogsEventsTheBusDroppedOncePerBurst(t *testing.T) {
	var out lockedBuffer
	src := countingSource{evs: make(chan events.Event), drops: make(chan int64)}
	h := realtime.NewHub(src, nil, slog.New(slog.NewTextHandler(&out, nil)), realtime.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()

	src.drops <- 3 // before the hub started: not the hub's concern
	for _, dropped := range []int64{3, 8, 9, 12, 12, 12, 20} {
		src.evs <- message("CHa", 0)
		src.drops <- dropped
	}
	cancel()
	<-done

	var got []string
	for line := range strings.Lines(out.b.String()) {
		switch {
		case strings.Contains(line, "is dropping events"):
			got = append(got, "dropping "+field(line, "dropped"))
		case strings.Contains(line, "stopped dropping"):
			got = append(got, "stopped "+field(line, "dropped_total"))
		}
	}
	want := []string{"dropping 5", "stopped 12", "dropping 8"}
	if !slices.Equal(got, want) {
		t.Errorf("logged %v, want %v\n%s", got, want, out.b.String())
	}
}

// field returns the value of name=value in a text log line.
func field(line, name string) string {
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}

// chanSource is a Source the test feeds directly, without Postgres.
type chanSource chan events.Event

func (s chanSource) Subscribe(int) (<-chan events.Event, func()) { return s, func() {} }

func TestAConnHoldsNoEventBufferUntilItsFirstSubscribe(t *testing.T) {
	const buffer = 4
	src := make(chanSource)
	h := realtime.NewHub(src, nil, discard, realtime.Options{ConnBuffer: buffer})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	c := h.Connect()
	defer c.Close()
	if c.Events() != nil {
		t.Fatal("a connection that follows nothing has an event buffer")
	}
	src <- message("CHa", 1) // reaches no one: nothing to buffer it in
	c.Subscribe("CHa")
	if got := cap(c.Events()); got != buffer {
		t.Fatalf("after Subscribe the buffer holds %d events, want %d", got, buffer)
	}
	src <- message("CHa", 2)
	select {
	case ev := <-c.Events():
		if ev.Index == nil || *ev.Index != 2 {
			t.Fatalf("received %s, want the message of index 2", key(*ev))
		}
	case <-time.After(within):
		t.Fatal("no event after subscribing")
	}
}
