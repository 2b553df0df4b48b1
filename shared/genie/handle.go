package genie

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
)

// Handles bind a Genie conversation to the person who started it. The
// conversation id behalf hands out is a handle: the space, the Genie
// conversation id and the owner's oid, authenticated with HMAC-SHA256. A
// handle presented by anyone else does not open, so another person cannot
// continue or read the conversation through behalf, and no server-side
// store is needed across instances.
type Handles struct {
	key []byte
}

// NewHandles takes a key of at least 32 bytes.
func NewHandles(key []byte) (*Handles, error) {
	if len(key) < 32 {
		return nil, errors.New("genie: handle key must be at least 32 bytes")
	}
	return &Handles{key: key}, nil
}

func (h *Handles) mac(payload string) string {
	m := hmac.New(sha256.New, h.key)
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

// Seal makes the handle for (space, conversation) owned by oid.
func (h *Handles) Seal(space, conversation, oid string) string {
	payload := base64.RawURLEncoding.EncodeToString([]byte(space + "\x00" + conversation))
	return payload + "." + h.mac(payload+"\x00"+oid)
}

// Open returns the space and conversation of handle if oid owns it.
func (h *Handles) Open(handle, oid string) (space, conversation string, err error) {
	payload, sig, ok := strings.Cut(handle, ".")
	if !ok || len(handle) > 512 {
		return "", "", ErrConversationNotFound
	}
	if !hmac.Equal([]byte(sig), []byte(h.mac(payload+"\x00"+oid))) {
		return "", "", ErrConversationNotFound
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return "", "", ErrConversationNotFound
	}
	space, conversation, ok = strings.Cut(string(raw), "\x00")
	if !ok || space == "" || conversation == "" {
		return "", "", ErrConversationNotFound
	}
	return space, conversation, nil
}
