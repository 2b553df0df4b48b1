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

// MaxJSONLineBytes bounds one input line of ClassifyJSONLines. Longer lines
// are answered with an error line and skipped.
const MaxJSONLineBytes = 8 << 20

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
// statement that cannot be classified) gets an output line with read_only
// false and an error, and processing goes on. Blank lines are skipped. The
// returned error is for reading, writing or ctx only.
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
		buf, tooLong, readErr = readLine(br, buf[:0], MaxJSONLineBytes)
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			_ = bw.Flush()
			return fmt.Errorf("sqlguard: reading line %d: %w", lineNo, readErr)
		}
		if tooLong || len(bytes.TrimSpace(buf)) > 0 {
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

// readLine appends the next line (without its line ending) to buf. Beyond
// max bytes the rest of the line is read and dropped, and tooLong is set.
func readLine(br *bufio.Reader, buf []byte, max int) (line []byte, tooLong bool, err error) {
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
		buf = bytes.TrimSuffix(buf, []byte("\n"))
		buf = bytes.TrimSuffix(buf, []byte("\r"))
		if err == nil && len(chunk) == 0 {
			err = io.EOF
		}
		return buf, tooLong, err
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
		return fail("line longer than %d bytes", MaxJSONLineBytes)
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
