package sqlguard

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// MaxJSONLineBytes bounds one input line of ClassifyJSONLines, whatever the
// classifier's MaxLength. Longer lines are answered with an error line and
// skipped without being held in memory.
const MaxJSONLineBytes = 8 << 20

// lineLimit is the longest input line worth decoding for c: a JSON string
// takes at most 6 bytes per byte of SQL (\u0000), plus room for the object
// around it. Anything longer holds a statement over the limit anyway.
func (c *Classifier) lineLimit() int {
	if c.maxLen >= MaxJSONLineBytes/6 {
		return MaxJSONLineBytes
	}
	return 6*c.maxLen + 4096
}

// jsonRequest is one input line: {"sql": "...", "id": ...}. The id, if any,
// is echoed so that outputs can be matched to inputs.
type jsonRequest struct {
	SQL *string         `json:"sql"`
	ID  json.RawMessage `json:"id,omitempty"`
}

// jsonResponse is one output line.
type jsonResponse struct {
	ID         json.RawMessage `json:"id,omitempty"`
	ReadOnly   bool            `json:"read_only"`
	Class      Class           `json:"class"`
	Statements int             `json:"statements"`
	Tables     []string        `json:"tables"`
	Risk       Risk            `json:"risk"`
	Policy     Policy          `json:"policy"`
	Reasons    []string        `json:"reasons,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// ClassifyJSONLines reads JSON Lines of the form {"sql": "..."} from in and
// writes one JSON line per input line to out, in input order:
// {"read_only", "class", "statements", "tables", "risk", "policy",
// "reasons"?, "error"?}. A bad line (invalid JSON, no "sql", too long, a
// statement that cannot be classified, blank) gets an output line with
// read_only false and an error, and processing goes on, so that output line
// n always answers input line n. The returned error is for reading,
// writing or ctx only.
func ClassifyJSONLines(ctx context.Context, c *Classifier, in io.Reader, out io.Writer) error {
	if c == nil {
		return errors.New("sqlguard: ClassifyJSONLines needs a Classifier")
	}
	br := bufio.NewReaderSize(in, 64<<10)
	bw := bufio.NewWriterSize(out, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	var buf []byte
	for lineNo := 1; ; lineNo++ {
		if err := ctx.Err(); err != nil {
			_ = bw.Flush()
			return fmt.Errorf("sqlguard: classifying JSON lines stopped at line %d: %w", lineNo, err)
		}
		// Flush before a read that may block, so that a caller feeding one
		// line at a time gets each answer at once.
		if br.Buffered() == 0 {
			if err := bw.Flush(); err != nil {
				return fmt.Errorf("sqlguard: writing results: %w", err)
			}
		}
		var tooLong bool
		var readErr error
		var eol bool
		buf, tooLong, eol, readErr = readLine(br, buf[:0], c.lineLimit())
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			_ = bw.Flush()
			return fmt.Errorf("sqlguard: reading line %d: %w", lineNo, readErr)
		}
		// At the end of the input, only a line that has something in it
		// counts: "a\nb\n" is two lines, not three.
		if eol || tooLong || len(buf) > 0 {
			if err := enc.Encode(c.classifyLine(buf, tooLong, lineNo)); err != nil {
				return fmt.Errorf("sqlguard: writing result for line %d: %w", lineNo, err)
			}
		}
		if readErr != nil { // io.EOF
			break
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("sqlguard: writing results: %w", err)
	}
	return nil
}

// readLine appends the next line (without its line ending) to buf; eol
// says the line ended with a newline (rather than the input). Beyond max
// bytes the rest of the line is read and dropped, and tooLong is set.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, tooLong, eol bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(buf)+len(chunk) > max+2 { // +2: the line ending
				tooLong = true
				buf = buf[:0]
			} else {
				buf = append(buf, chunk...)
			}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		eol = err == nil
		if eol && !tooLong {
			buf = bytes.TrimSuffix(buf, []byte("\n"))
			buf = bytes.TrimSuffix(buf, []byte("\r"))
		}
		return buf, tooLong, eol, err
	}
}

func (c *Classifier) classifyLine(line []byte, tooLong bool, lineNo int) jsonResponse {
	fail := func(format string, args ...any) jsonResponse {
		r := c.failed(0, nil)
		return jsonResponse{
			Class: r.Class, Tables: r.Tables, Risk: r.Risk, Policy: r.Policy,
			Error: fmt.Sprintf("line %d: ", lineNo) + fmt.Sprintf(format, args...),
		}
	}
	if tooLong {
		return fail("line longer than %d bytes", c.lineLimit())
	}
	if len(bytes.TrimSpace(line)) == 0 {
		return fail(`blank line; expected {"sql": "..."}`)
	}
	var req jsonRequest
	if err := json.Unmarshal(line, &req); err != nil {
		return fail("invalid JSON: %v", err)
	}
	if req.SQL == nil {
		resp := fail(`missing "sql"`)
		resp.ID = req.ID
		return resp
	}
	res, err := c.Classify(*req.SQL)
	resp := jsonResponse{
		ID:         req.ID,
		ReadOnly:   res.ReadOnly && err == nil,
		Class:      res.Class,
		Statements: res.Statements,
		Tables:     res.Tables,
		Risk:       res.Risk,
		Policy:     res.Policy,
		Reasons:    res.Reasons,
	}
	if err != nil {
		resp.Error = err.Error()
		resp.Reasons = nil // the error says it
	}
	return resp
}
