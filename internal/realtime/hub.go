// Package realtime is the connection hub behind Switchboard's WebSocket
// clients: each connection subscribes to topics (conversations), and the hub
// pushes every committed event of those topics to it, plus ephemeral signals
// such as typing, on every node.
//
// Live pushes are best-effort. A connection that cannot keep up is cut off
// rather than slowing anyone else, and if the hub itself ever falls behind
// the event bus, events are lost for every connection. Either way clients
// recover the same way: messages carry a gap-free index, so a client that
// reconnects, or sees a gap in the indexes it receives, resyncs from the last
// index it holds.
package realtime

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Source is where committed events come from; *events.Bus satisfies it.
type Source interface {
	Subscribe(size int) (<-chan events.Event, func())
}

// droppedCounter is what a Source may also report: how many events it lost
// to full subscriber buffers (*events.Bus does, for all its subscribers).
type droppedCounter interface{ Dropped() int64 }

// Options tune a Hub; the zero value is ready to use.
type Options struct {
	// ConnBuffer is how many events a connection may have waiting before it
	// is cut off; default 256. The buffer holds pointers to events shared by
	// every subscriber: 8 bytes a slot (2 KB at the default), allocated at
	// the connection's first subscription.
	ConnBuffer int
	// Topics names the topics an event goes to; default: DefaultTopics.
	Topics func(events.Event) []string
}

// WorkerTopic is the topic of a TaskRouter worker's events (offers, tasks,
// activity), and WorkspaceTopic that of every TaskRouter event of a
// workspace; conversation events go to the conversation's SID.
func WorkerTopic(workerSid string) string { return "worker:" + workerSid }

// WorkspaceTopic is the topic of every TaskRouter event of a workspace.
func WorkspaceTopic(workspaceSid string) string { return "workspace:" + workspaceSid }

// DefaultTopics sends an event to its conversation, its worker and its
// workspace, whichever it names.
func DefaultTopics(ev events.Event) []string {
	var ts []string
	if ev.ConversationSid != "" {
		ts = append(ts, ev.ConversationSid)
	}
	if ev.WorkerSid != "" {
		ts = append(ts, WorkerTopic(ev.WorkerSid))
	}
	if ev.WorkspaceSid != "" {
		ts = append(ts, WorkspaceTopic(ev.WorkspaceSid))
	}
	return ts
}

// Stats is a snapshot of the hub.
type Stats struct {
	Conns  int   // connections neither closed nor cut off
	Topics int   // topics with at least one subscriber
	CutOff int64 // connections cut off as slow consumers, ever
}

// srcBuffer is the hub's own buffer on its Source: deep, so that a burst of
// commits waits here instead of being dropped by the bus.
const srcBuffer = 1 << 16

// maxBatch bounds how many queued events one dispatch takes under the lock,
// so subscribing connections wait at most that long.
const maxBatch = 64

// Hub routes events to the connections subscribed to their topics. One
// goroutine (Run) dispatches; it never blocks on a connection.
type Hub struct {
	d        *db.DB
	log      *slog.Logger
	buffer   int
	topicsOf func(events.Event) []string
	evs      <-chan events.Event
	stop     func()
	drops    droppedCounter // nil when the source does not count

	mu      sync.Mutex
	topics  map[string][]*Conn // subscribers per topic, in no order
	conns   int
	cutOffs int64
	seq     uint64  // numbers dispatched events, to deliver each once per conn
	cut     []*Conn // scratch: connections cut off by the current event
}

// NewHub returns a hub fed by src, subscribing at once so that no event
// committed after NewHub returns is missed; d carries Signal's events. Call
// Run exactly once to start dispatching. On a shared bus the drop count in
// the hub's log covers every subscriber, so give the hub its own
// events.NewBus for an exact one.
func NewHub(src Source, d *db.DB, log *slog.Logger, opts Options) *Hub {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		d:        d,
		log:      log,
		buffer:   opts.ConnBuffer,
		topicsOf: opts.Topics,
		topics:   map[string][]*Conn{},
	}
	if h.buffer <= 0 {
		h.buffer = 256
	}
	if h.topicsOf == nil {
		h.topicsOf = DefaultTopics
	}
	h.drops, _ = src.(droppedCounter)
	h.evs, h.stop = src.Subscribe(srcBuffer)
	return h
}

// Run dispatches events until ctx ends, then ends the hub's subscription.
// Connections stay open but receive nothing more.
func (h *Hub) Run(ctx context.Context) {
	defer h.stop()
	var dropped int64 // the source's count when last checked
	burst := false    // the source dropped events at the last check
	if h.drops != nil {
		dropped = h.drops.Dropped()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-h.evs:
			h.dispatchBatch(ev)
		}
		if h.drops == nil {
			continue
		}
		// Once per burst: while the hub is behind, every batch would see
		// new drops.
		n := h.drops.Dropped()
		switch {
		case n > dropped && !burst:
			h.log.Warn("realtime: the event bus is dropping events; clients miss live pushes and must resync by index",
				"dropped", n-dropped)
			burst = true
		case n == dropped && burst:
			h.log.Info("realtime: the event bus stopped dropping events", "dropped_total", n)
			burst = false
		}
		dropped = n
	}
}

// dispatchBatch delivers ev and whatever else is already queued, up to
// maxBatch, under one lock.
func (h *Hub) dispatchBatch(ev events.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dispatch(ev)
	for range maxBatch - 1 {
		select {
		case ev := <-h.evs:
			h.dispatch(ev)
		default:
			return
		}
	}
}

// dispatch delivers ev to the subscribers of its topics. Caller holds h.mu.
func (h *Hub) dispatch(ev events.Event) {
	h.seq++
	// One copy shared by every subscriber: a connection's buffer holds
	// pointers, a few bytes a slot, not the event itself.
	shared := &ev
	for _, t := range h.topicsOf(ev) {
		h.send(t, shared)
	}
	// Unsubscribe the cut-off connections only now: send ranges over the
	// topics' slices, which unsubscribing reorders.
	for i, c := range h.cut {
		h.unsubscribeAll(c)
		h.cut[i] = nil
	}
	h.cut = h.cut[:0]
}

// send offers ev to every live subscriber of topic once, cutting off those
// whose buffer is full. Caller holds h.mu.
func (h *Hub) send(topic string, ev *events.Event) {
	for _, c := range h.topics[topic] {
		if c.state != open || c.seq == h.seq {
			continue // cut off by this event already, or sent it via another topic
		}
		c.seq = h.seq
		select {
		case c.events <- ev:
		default:
			c.state = cutOff
			close(c.cutOff)
			h.conns--
			h.cutOffs++
			h.cut = append(h.cut, c)
		}
	}
}

// Signal sends an ephemeral event (typing) to the subscribers of its topics
// on every node, now; nothing stores it. It fails on an event that names no
// type or no topic, since it would reach no one.
func (h *Hub) Signal(ctx context.Context, ev events.Event) error {
	if ev.Type == "" {
		return errs.Invalidf("realtime: a signal needs a type")
	}
	if !h.routed(ev) {
		return errs.Invalidf("realtime: signal %s has no topic (no conversation)", ev.Type)
	}
	if err := events.Signal(ctx, h.d, ev); err != nil {
		return errs.Wrap(err, "realtime: signal "+string(ev.Type))
	}
	return nil
}

// routed reports whether ev goes to any topic.
func (h *Hub) routed(ev events.Event) bool {
	return len(h.topicsOf(ev)) > 0
}

// Stats reports the hub's connections, topics and cut-offs.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return Stats{Conns: h.conns, Topics: len(h.topics), CutOff: h.cutOffs}
}

// Connect returns a new connection subscribed to nothing. It holds no
// event buffer until its first Subscribe: most sockets sit idle, and an
// idle socket should cost little more than the socket itself.
func (h *Hub) Connect() *Conn {
	c := &Conn{h: h, cutOff: make(chan struct{})}
	h.mu.Lock()
	h.conns++
	h.mu.Unlock()
	return c
}

// unsubscribeAll removes c from every topic. Caller holds h.mu.
func (h *Hub) unsubscribeAll(c *Conn) {
	for _, t := range c.topics {
		h.remove(t, c)
	}
	c.topics = nil
}

// remove takes c out of topic's subscribers. Caller holds h.mu.
func (h *Hub) remove(topic string, c *Conn) {
	subs := h.topics[topic]
	i := slices.Index(subs, c)
	if i < 0 {
		return
	}
	last := len(subs) - 1
	subs[i] = subs[last]
	subs[last] = nil
	if last == 0 {
		delete(h.topics, topic)
		return
	}
	h.topics[topic] = subs[:last]
}

// Conn states.
const (
	open uint8 = iota
	closed
	cutOff
)

// Conn is one client connection's view of the hub. The hub sends on its
// buffer and never blocks: when the buffer is full the connection is cut
// off. Events is never closed (so no send can race a close); the owner reads
// it until CutOff is closed or the socket ends.
type Conn struct {
	h      *Hub
	cutOff chan struct{}

	// Guarded by h.mu; events is also read by the owner without it, which
	// is safe because only the owner's Subscribe sets it, once.
	events chan *events.Event
	topics []string
	seq    uint64 // the last event dispatched to this connection
	state  uint8
}

// Subscribe adds topic (a conversation SID by default). Subscribing twice,
// to the empty topic, or after Close or a cut-off does nothing.
func (c *Conn) Subscribe(topic string) {
	if topic == "" {
		return
	}
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.state != open || slices.Contains(c.topics, topic) {
		return
	}
	if c.events == nil {
		c.events = make(chan *events.Event, h.buffer)
	}
	c.topics = append(c.topics, topic)
	h.topics[topic] = append(h.topics[topic], c)
}

// Unsubscribe removes topic; events of it already buffered stay buffered.
func (c *Conn) Unsubscribe(topic string) {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.Index(c.topics, topic)
	if i < 0 {
		return
	}
	c.topics = slices.Delete(c.topics, i, i+1)
	h.remove(topic, c)
}

// Events is the connection's bounded buffer of events, in commit order per
// topic. It is never closed. Every subscriber gets the same event: read it,
// never change it. It is nil (receiving blocks for ever) until the first
// Subscribe, so the owner calls Subscribe and Events from one goroutine, or
// Events only after Subscribe returned, and reads Events anew after its
// first Subscribe — a select that calls it on every pass does.
func (c *Conn) Events() <-chan *events.Event { return c.events }

// CutOff is closed when the hub dropped this connection because its buffer
// was full (a slow consumer). The owner then closes the socket and the
// client resyncs; events still buffered may be discarded.
func (c *Conn) CutOff() <-chan struct{} { return c.cutOff }

// Close removes every subscription; after it returns, nothing more is sent
// to Events. Closing again, or after a cut-off, does nothing.
func (c *Conn) Close() {
	h := c.h
	h.mu.Lock()
	defer h.mu.Unlock()
	if c.state != open {
		return
	}
	c.state = closed
	h.conns--
	h.unsubscribeAll(c)
}
