package desk

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// SidNote prefixes note SIDs (NO…): Switchboard's own resource.
const SidNote = "NO"

// MaxNote bounds a note's body.
const MaxNote = 4000

// maxNotesShown bounds the notes the context panel lists, newest kept.
const maxNotesShown = 200

// Note is something staff wrote about a conversation. Customers never see
// notes.
type Note struct {
	Sid             string
	ConversationSid string
	WorkerSid       string
	AuthorIdentity  string
	AuthorName      string
	Body            string
	DateCreated     time.Time
}

type noteRow struct {
	Sid             string `gorm:"primaryKey"`
	ConversationSid string
	WorkerSid       string
	AuthorIdentity  string
	AuthorName      string
	Body            string
	DateCreated     time.Time
}

func (noteRow) TableName() string { return "desk_notes" }

// AddNote records the agent's note on a conversation they hold or held.
func (s *Service) AddNote(ctx context.Context, a Agent, conversationSid, body string) (Note, error) {
	if err := s.Allowed(ctx, a, conversationSid); err != nil {
		return Note{}, err
	}
	body, err := checkNote(body)
	if err != nil {
		return Note{}, err
	}
	if body == "" {
		return Note{}, errs.Invalidf("A note needs some text")
	}
	return s.writeNote(ctx, a, conversationSid, body)
}

// checkNote trims a note and refuses one that is too long.
func checkNote(body string) (string, error) {
	body = strings.TrimSpace(body)
	if n := utf8.RuneCountInString(body); n > MaxNote {
		return "", errs.Invalidf("The note is %d characters; at most %d fit", n, MaxNote)
	}
	return body, nil
}

func (s *Service) writeNote(ctx context.Context, a Agent, conversationSid, body string) (Note, error) {
	r := noteRow{Sid: sid.New(SidNote), ConversationSid: conversationSid, WorkerSid: a.WorkerSid, AuthorIdentity: a.Identity,
		AuthorName: a.Name, Body: body, DateCreated: s.now()}
	if err := s.read(ctx).Create(&r).Error; err != nil {
		return Note{}, errs.Wrap(err, "add note")
	}
	return Note(r), nil
}

// Notes lists the notes on a conversation the agent holds or held, oldest
// first (the latest maxNotesShown).
func (s *Service) Notes(ctx context.Context, a Agent, conversationSid string) ([]Note, error) {
	if err := s.Allowed(ctx, a, conversationSid); err != nil {
		return nil, err
	}
	return s.notesOf(ctx, conversationSid)
}

func (s *Service) notesOf(ctx context.Context, conversationSid string) ([]Note, error) {
	var rows []noteRow
	if err := s.read(ctx).Where("conversation_sid = ?", conversationSid).Order("date_created DESC, sid DESC").
		Limit(maxNotesShown).Find(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "notes")
	}
	out := make([]Note, len(rows))
	for i, r := range rows {
		out[len(rows)-1-i] = Note(r)
	}
	return out, nil
}
