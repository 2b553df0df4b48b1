package databricks

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/behalf-dev/behalf/infra/devstack/databricks/govsql"
)

// Wire types of the Statement Execution API. They follow
// databricks-sdk-go's service/sql model, except that data_array cells are
// *string so that NULL is JSON null, as the real API sends it.

type executeRequest struct {
	Statement   string `json:"statement"`
	WarehouseID string `json:"warehouse_id"`
	Catalog     string `json:"catalog"`
	Schema      string `json:"schema"`
	Parameters  []struct {
		Name  string  `json:"name"`
		Type  string  `json:"type"`
		Value *string `json:"value"`
	} `json:"parameters"`
	WaitTimeout   string `json:"wait_timeout"`
	OnWaitTimeout string `json:"on_wait_timeout"`
	Disposition   string `json:"disposition"`
	Format        string `json:"format"`
	RowLimit      int64  `json:"row_limit"`
	ByteLimit     int64  `json:"byte_limit"`
}

type statementResponse struct {
	StatementID string          `json:"statement_id"`
	Status      statementStatus `json:"status"`
	Manifest    *resultManifest `json:"manifest,omitempty"`
	Result      *resultData     `json:"result,omitempty"`
}

type statementStatus struct {
	State    string        `json:"state"`
	Error    *serviceError `json:"error,omitempty"`
	SQLState string        `json:"sql_state,omitempty"`
}

type serviceError struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

type resultManifest struct {
	Format          string       `json:"format"`
	Schema          resultSchema `json:"schema"`
	TotalChunkCount int          `json:"total_chunk_count"`
	Chunks          []chunkInfo  `json:"chunks"`
	TotalRowCount   int64        `json:"total_row_count"`
	Truncated       bool         `json:"truncated"`
}

type resultSchema struct {
	ColumnCount int          `json:"column_count"`
	Columns     []columnInfo `json:"columns"`
}

type columnInfo struct {
	Name          string `json:"name"`
	TypeText      string `json:"type_text"`
	TypeName      string `json:"type_name"`
	Position      int    `json:"position"`
	TypePrecision int    `json:"type_precision,omitempty"`
	TypeScale     int    `json:"type_scale,omitempty"`
}

type chunkInfo struct {
	ChunkIndex int   `json:"chunk_index"`
	RowOffset  int64 `json:"row_offset"`
	RowCount   int64 `json:"row_count"`
}

type resultData struct {
	ChunkIndex            int         `json:"chunk_index"`
	RowOffset             int64       `json:"row_offset"`
	RowCount              int64       `json:"row_count"`
	DataArray             [][]*string `json:"data_array,omitempty"`
	NextChunkIndex        *int        `json:"next_chunk_index,omitempty"`
	NextChunkInternalLink string      `json:"next_chunk_internal_link,omitempty"`
}

var reWait = regexp.MustCompile(`^(\d+)s$`)

func (e *Emulator) handleExecuteStatement(w http.ResponseWriter, r *http.Request, p *Principal) {
	var req executeRequest
	if err := decodeJSON(r, &req); err != nil {
		e.writeError(w, r, err)
		return
	}
	wait, err := e.validateExecute(&req, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	greq := govsql.Request{SQL: req.Statement, Catalog: req.Catalog, Schema: req.Schema, RowLimit: req.RowLimit, ByteLimit: req.ByteLimit}
	for _, prm := range req.Parameters {
		greq.Params = append(greq.Params, govsql.Param{Name: prm.Name, Type: prm.Type, Value: prm.Value})
	}
	st := e.startStatement(p, req.WarehouseID, greq)
	if !waitStatement(r.Context(), st, wait) && req.OnWaitTimeout == "CANCEL" {
		st.cancel()
		<-st.done
	}
	writeJSON(w, http.StatusOK, e.statementJSON(st))
}

// validateExecute checks the request and the warehouse permission and
// returns how long to wait synchronously.
func (e *Emulator) validateExecute(req *executeRequest, p *Principal) (time.Duration, error) {
	if strings.TrimSpace(req.Statement) == "" {
		return 0, errInvalidParam("statement is required.")
	}
	if len(req.Statement) > 16<<20 {
		return 0, errInvalidParam("statement is larger than 16 MiB.")
	}
	if req.WarehouseID == "" {
		return 0, errInvalidParam("warehouse_id is required.")
	}
	if err := e.checkWarehouse(req.WarehouseID, p); err != nil {
		return 0, err
	}
	switch strings.ToUpper(req.Disposition) {
	case "", "INLINE":
	case "EXTERNAL_LINKS":
		return 0, errInvalidParam("disposition EXTERNAL_LINKS is not supported by the workspace emulator; use INLINE.")
	default:
		return 0, errInvalidParam("disposition must be INLINE or EXTERNAL_LINKS.")
	}
	switch strings.ToUpper(req.Format) {
	case "", "JSON_ARRAY":
	default:
		return 0, errInvalidParam("format " + req.Format + " needs disposition EXTERNAL_LINKS; INLINE supports JSON_ARRAY only.")
	}
	req.OnWaitTimeout = strings.ToUpper(req.OnWaitTimeout)
	if req.OnWaitTimeout == "" {
		req.OnWaitTimeout = "CONTINUE"
	}
	if req.OnWaitTimeout != "CONTINUE" && req.OnWaitTimeout != "CANCEL" {
		return 0, errInvalidParam("on_wait_timeout must be CONTINUE or CANCEL.")
	}
	if req.RowLimit < 0 || req.ByteLimit < 0 {
		return 0, errInvalidParam("row_limit and byte_limit must not be negative.")
	}
	wait := 10 * time.Second
	if req.WaitTimeout != "" {
		m := reWait.FindStringSubmatch(req.WaitTimeout)
		n := -1
		if m != nil {
			n, _ = strconv.Atoi(m[1])
		}
		if n != 0 && (n < 5 || n > 50) {
			return 0, errInvalidParam("wait_timeout must be 0s or between 5s and 50s.")
		}
		wait = time.Duration(n) * time.Second
	}
	return wait, nil
}

// ownStatement finds a statement the caller submitted; other people's
// statements look like missing ones.
func (e *Emulator) ownStatement(r *http.Request, p *Principal) (*statement, error) {
	id := r.PathValue("statement_id")
	st := e.statements.get(id)
	if st == nil || st.owner.UserName != p.UserName {
		return nil, errNotFound("Statement " + id + " does not exist or is not accessible to the caller.")
	}
	return st, nil
}

func (e *Emulator) handleGetStatement(w http.ResponseWriter, r *http.Request, p *Principal) {
	st, err := e.ownStatement(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e.statementJSON(st))
}

func (e *Emulator) handleCancelStatement(w http.ResponseWriter, r *http.Request, p *Principal) {
	st, err := e.ownStatement(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	st.cancel()
	writeJSON(w, http.StatusOK, struct{}{})
}

func (e *Emulator) handleResultChunk(w http.ResponseWriter, r *http.Request, p *Principal) {
	st, err := e.ownStatement(r, p)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	state, _, _, _, res := st.snapshot()
	if state != StateSucceeded {
		e.writeError(w, r, errInvalidState("Statement "+st.id+" is "+state+"; results are available only for SUCCEEDED statements."))
		return
	}
	n, err := strconv.Atoi(r.PathValue("chunk_index"))
	chunks := e.chunks(res)
	if err != nil || n < 0 || n >= len(chunks) {
		e.writeError(w, r, errInvalidParam("chunk_index "+r.PathValue("chunk_index")+" is out of range."))
		return
	}
	writeJSON(w, http.StatusOK, e.chunkData(st.id, res, chunks, n))
}

func (e *Emulator) chunks(res *govsql.Result) []chunkInfo {
	var out []chunkInfo
	size := e.cfg.ResultChunkRows
	for off := 0; off < len(res.Rows); off += size {
		n := min(size, len(res.Rows)-off)
		out = append(out, chunkInfo{ChunkIndex: len(out), RowOffset: int64(off), RowCount: int64(n)})
	}
	return out
}

func (e *Emulator) chunkData(id string, res *govsql.Result, chunks []chunkInfo, n int) *resultData {
	c := chunks[n]
	d := &resultData{ChunkIndex: n, RowOffset: c.RowOffset, RowCount: c.RowCount, DataArray: res.Rows[c.RowOffset : c.RowOffset+c.RowCount]}
	if n+1 < len(chunks) {
		next := n + 1
		d.NextChunkIndex = &next
		d.NextChunkInternalLink = "/api/2.0/sql/statements/" + id + "/result/chunks/" + strconv.Itoa(next)
	}
	return d
}

// statementJSON renders a statement as the API does: status always, the
// manifest and first chunk once it succeeded.
func (e *Emulator) statementJSON(st *statement) *statementResponse {
	state, code, msg, sqlState, res := st.snapshot()
	out := &statementResponse{StatementID: st.id, Status: statementStatus{State: state}}
	if code != "" {
		out.Status.Error = &serviceError{ErrorCode: code, Message: msg}
		out.Status.SQLState = sqlState
	}
	if state != StateSucceeded || res == nil {
		return out
	}
	chunks := e.chunks(res)
	m := &resultManifest{Format: "JSON_ARRAY", TotalChunkCount: len(chunks), Chunks: chunks, TotalRowCount: int64(len(res.Rows)), Truncated: res.Truncated,
		Schema: resultSchema{ColumnCount: len(res.Columns), Columns: []columnInfo{}}}
	if m.Chunks == nil {
		m.Chunks = []chunkInfo{}
	}
	for i, c := range res.Columns {
		m.Schema.Columns = append(m.Schema.Columns, columnInfo{Name: c.Name, TypeText: c.TypeText, TypeName: c.TypeName, Position: i, TypePrecision: c.Precision, TypeScale: c.Scale})
	}
	out.Manifest = m
	if len(chunks) > 0 {
		out.Result = e.chunkData(st.id, res, chunks, 0)
	} else {
		out.Result = &resultData{}
	}
	return out
}
