package webchat

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// MaxTranscript bounds a transcript's size; a longer chat's transcript
// ends with a note saying it was cut.
const MaxTranscript = 8 << 20

// Transcript is a chat as plain text, for the customer to keep.
type Transcript struct {
	Filename string
	Text     string
}

// Transcript writes out the session's own conversation: one entry per
// message with its time (UTC), its author's display name, its body and the
// names of its attachments. Any other conversation is not found, as if it
// did not exist.
func (s *Service) Transcript(ctx context.Context, sess Session, conversationSid string) (Transcript, error) {
	if conversationSid != sess.ConversationSid {
		return Transcript{}, errs.NotFoundf("The requested resource /Conversations/%s was not found", conversationSid)
	}
	c, err := s.conv.Conversation(ctx, sess.ServiceSid, sess.ConversationSid)
	if err != nil {
		return Transcript{}, err
	}
	names, err := s.displayNames(ctx, c)
	if err != nil {
		return Transcript{}, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nStarted %s\n", c.FriendlyName, c.DateCreated.UTC().Format("2006-01-02 15:04 UTC"))
	page := conversations.Page{Limit: 100}
	for {
		msgs, more, err := s.conv.Messages(ctx, c.ServiceSid, c.Sid, false, page)
		if err != nil {
			return Transcript{}, err
		}
		for _, m := range msgs {
			if b.Len() > MaxTranscript {
				b.WriteString("\n(The transcript stops here: the chat is longer than a transcript may be.)\n")
				return Transcript{Filename: "transcript-" + c.Sid + ".txt", Text: b.String()}, nil
			}
			name, err := names.of(ctx, m.Author)
			if err != nil {
				return Transcript{}, err
			}
			writeMessage(&b, m, name)
		}
		if !more {
			break
		}
		page.Offset += page.Limit
	}
	return Transcript{Filename: "transcript-" + c.Sid + ".txt", Text: b.String()}, nil
}

// writeMessage writes one transcript entry; continuation lines of a body
// are indented so that every entry starts with its time.
func writeMessage(b *strings.Builder, m conversations.Message, name string) {
	fmt.Fprintf(b, "\n[%s] %s:", m.DateCreated.UTC().Format("2006-01-02 15:04:05 UTC"), name)
	if m.Body != nil && *m.Body != "" {
		lines := strings.Split(strings.ReplaceAll(*m.Body, "\r\n", "\n"), "\n")
		b.WriteString(" " + lines[0] + "\n")
		for _, l := range lines[1:] {
			b.WriteString("    " + l + "\n")
		}
	} else {
		b.WriteString("\n")
	}
	if m.Media == nil {
		return
	}
	var media []conversations.Media
	if json.Unmarshal([]byte(*m.Media), &media) != nil {
		return
	}
	for _, md := range media {
		name := md.Filename
		if name == "" {
			name = "unnamed file"
		}
		fmt.Fprintf(b, "    Attachment: %s (%s, %s)\n", name, md.ContentType, humanSize(md.Size))
	}
}

// humanSize renders a byte count for people.
func humanSize(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// nameBook resolves message authors to the names the chat shows: the
// author's user's friendly name, else the friendlyName in their participant
// attributes, else the author as written (an identity, an address, or a
// back end's name such as WelcomeAuthor).
type nameBook struct {
	s          *Service
	serviceSid string
	attrNames  map[string]string // identity or address → friendlyName attribute
	resolved   map[string]string
}

func (s *Service) displayNames(ctx context.Context, c conversations.Conversation) (*nameBook, error) {
	nb := &nameBook{s: s, serviceSid: c.ServiceSid, attrNames: map[string]string{}, resolved: map[string]string{}}
	page := conversations.Page{Limit: 100}
	for {
		members, more, err := s.conv.Participants(ctx, c.ServiceSid, c.Sid, page)
		if err != nil {
			return nil, err
		}
		for _, p := range members {
			var attrs struct {
				FriendlyName string `json:"friendlyName"`
			}
			_ = json.Unmarshal([]byte(p.Attributes), &attrs) // attributes are any JSON; a name is optional
			switch {
			case p.Identity != nil:
				nb.attrNames[*p.Identity] = attrs.FriendlyName
			case p.Address != nil:
				nb.attrNames[*p.Address] = attrs.FriendlyName
			}
		}
		if !more {
			return nb, nil
		}
		page.Offset += page.Limit
	}
}

// of returns the display name of an author, looking its user up once.
func (nb *nameBook) of(ctx context.Context, author string) (string, error) {
	if name, ok := nb.resolved[author]; ok {
		return name, nil
	}
	name := nb.attrNames[author]
	u, err := nb.s.conv.User(ctx, nb.serviceSid, author)
	switch {
	case err == nil && u.FriendlyName != "":
		name = u.FriendlyName
	case err != nil && errs.KindOf(err) != errs.NotFound:
		return "", err
	}
	if name == "" {
		name = author
	}
	nb.resolved[author] = name
	return name, nil
}
