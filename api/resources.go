package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/perchml/perch"
	"github.com/perchml/perch/service"
)

// jsonDoc is a field holding a JSON document (a recipe, a data
// rearrangement) that a client may send either as a string or inline; an
// inline object is kept as its raw text.
type jsonDoc struct {
	field string
	text  string
}

func (d *jsonDoc) unmarshal(b []byte) error {
	switch jsonKind(b) {
	case "string":
		return json.Unmarshal(b, &d.text)
	case "object":
		d.text = string(b)
		return nil
	case "null":
		d.text = ""
		return nil
	}
	return invalidf("%s: want a string or an object, got %s", d.field, jsonKind(b))
}

type recipeDoc struct{ jsonDoc }

func (d *recipeDoc) UnmarshalJSON(b []byte) error {
	d.field = "recipe"
	return d.unmarshal(b)
}

type rearrangementDoc struct{ jsonDoc }

func (d *rearrangementDoc) UnmarshalJSON(b []byte) error {
	d.field = "rearrangement"
	return d.unmarshal(b)
}

// created answers a new entity: 201 and where it lives.
func created(w http.ResponseWriter, r *http.Request, location string, v any) {
	w.Header().Set("Location", location)
	writeJSON(w, r, http.StatusCreated, v)
}

// updateBody decodes a PATCH body.
func updateBody(r *http.Request) (service.Update, error) {
	var u service.Update
	err := decodeBody(r, &u, false)
	return u, err
}

// Data sources.

func (a *api) createDataSource(w http.ResponseWriter, r *http.Request) {
	var in struct {
		service.DataSourceInput
		Rearrangement rearrangementDoc `json:"rearrangement"`
	}
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	in.DataSourceInput.Rearrangement = in.Rearrangement.text
	d, err := a.svc.CreateDataSource(r.Context(), in.DataSourceInput)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, "/v1/datasources/"+d.ID, d)
}

func (a *api) listDataSources(w http.ResponseWriter, r *http.Request) {
	list(w, r, a.svc.ListDataSources)
}

func (a *api) getDataSource(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.GetDataSource(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, d, err)
}

func (a *api) updateDataSource(w http.ResponseWriter, r *http.Request) {
	u, err := updateBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	d, err := a.svc.UpdateDataSource(r.Context(), r.PathValue("id"), u)
	respond(w, r, http.StatusOK, d, err)
}

func (a *api) deleteDataSource(w http.ResponseWriter, r *http.Request) {
	d, err := a.svc.DeleteDataSource(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, d, err)
}

func (a *api) dataSourceStatistics(w http.ResponseWriter, r *http.Request) {
	b, err := a.svc.DataSourceStatistics(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, b)
}

// Models.

func (a *api) createModel(w http.ResponseWriter, r *http.Request) {
	var in struct {
		service.MLModelInput
		Recipe recipeDoc `json:"recipe"`
	}
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	in.MLModelInput.Recipe = in.Recipe.text
	m, err := a.svc.CreateMLModel(r.Context(), in.MLModelInput)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, "/v1/models/"+m.ID, m)
}

func (a *api) listModels(w http.ResponseWriter, r *http.Request) {
	list(w, r, a.svc.ListMLModels)
}

func (a *api) getModel(w http.ResponseWriter, r *http.Request) {
	m, err := a.svc.GetMLModel(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, m, err)
}

func (a *api) updateModel(w http.ResponseWriter, r *http.Request) {
	u, err := updateBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	m, err := a.svc.UpdateMLModel(r.Context(), r.PathValue("id"), u)
	respond(w, r, http.StatusOK, m, err)
}

func (a *api) deleteModel(w http.ResponseWriter, r *http.Request) {
	m, err := a.svc.DeleteMLModel(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, m, err)
}

func (a *api) createEndpoint(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PeakRequestsPerSecond int `json:"peakRequestsPerSecond"`
	}
	if err := decodeBody(r, &in, true); err != nil {
		writeError(w, r, err)
		return
	}
	m, err := a.svc.CreateEndpoint(r.Context(), r.PathValue("id"), in.PeakRequestsPerSecond)
	respond(w, r, http.StatusOK, m, err)
}

func (a *api) deleteEndpoint(w http.ResponseWriter, r *http.Request) {
	m, err := a.svc.DeleteEndpoint(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, m, err)
}

// Evaluations.

func (a *api) createEvaluation(w http.ResponseWriter, r *http.Request) {
	var in service.EvaluationInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	e, err := a.svc.CreateEvaluation(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, "/v1/evaluations/"+e.ID, e)
}

func (a *api) listEvaluations(w http.ResponseWriter, r *http.Request) {
	list(w, r, a.svc.ListEvaluations)
}

func (a *api) getEvaluation(w http.ResponseWriter, r *http.Request) {
	e, err := a.svc.GetEvaluation(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, e, err)
}

func (a *api) updateEvaluation(w http.ResponseWriter, r *http.Request) {
	u, err := updateBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	e, err := a.svc.UpdateEvaluation(r.Context(), r.PathValue("id"), u)
	respond(w, r, http.StatusOK, e, err)
}

func (a *api) deleteEvaluation(w http.ResponseWriter, r *http.Request) {
	e, err := a.svc.DeleteEvaluation(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, e, err)
}

func (a *api) evaluationReport(w http.ResponseWriter, r *http.Request) {
	b, err := a.svc.EvaluationReport(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, err)
		return
	}
	writeRaw(w, http.StatusOK, b)
}

// Batch predictions.

func (a *api) createBatchPrediction(w http.ResponseWriter, r *http.Request) {
	var in service.BatchPredictionInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	b, err := a.svc.CreateBatchPrediction(r.Context(), in)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, "/v1/batchpredictions/"+b.ID, b)
}

func (a *api) listBatchPredictions(w http.ResponseWriter, r *http.Request) {
	list(w, r, a.svc.ListBatchPredictions)
}

func (a *api) getBatchPrediction(w http.ResponseWriter, r *http.Request) {
	b, err := a.svc.GetBatchPrediction(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, b, err)
}

func (a *api) updateBatchPrediction(w http.ResponseWriter, r *http.Request) {
	u, err := updateBody(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	b, err := a.svc.UpdateBatchPrediction(r.Context(), r.PathValue("id"), u)
	respond(w, r, http.StatusOK, b, err)
}

func (a *api) deleteBatchPrediction(w http.ResponseWriter, r *http.Request) {
	b, err := a.svc.DeleteBatchPrediction(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, b, err)
}

// Tags.

type tagsBody struct {
	Tags map[string]string `json:"tags"`
}

func (a *api) tags(resource string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		t, err := a.svc.Tags(r.Context(), resource, r.PathValue("id"))
		respond(w, r, http.StatusOK, tagsBody{t}, err)
	}
}

func (a *api) addTags(resource string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var in tagsBody
		if err := decodeBody(r, &in, false); err != nil {
			writeError(w, r, err)
			return
		}
		if in.Tags == nil {
			writeError(w, r, invalidf("tags: required"))
			return
		}
		t, err := a.svc.AddTags(r.Context(), resource, r.PathValue("id"), in.Tags)
		respond(w, r, http.StatusOK, tagsBody{t}, err)
	}
}

func (a *api) deleteTags(resource string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, err := query(r, "key")
		if err != nil {
			writeError(w, r, err)
			return
		}
		keys := q["key"]
		if len(keys) == 0 {
			writeError(w, r, invalidf("key: name at least one tag to delete (?key=a&key=b)"))
			return
		}
		t, err := a.svc.DeleteTags(r.Context(), resource, r.PathValue("id"), keys)
		respond(w, r, http.StatusOK, tagsBody{t}, err)
	}
}

// Keys.

func (a *api) createKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name string `json:"name"`
		AWS  bool   `json:"aws"`
		// Policy is a policy document, or the name of a ready-made one.
		Policy json.RawMessage `json:"policy"`
	}
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	var p *perch.Policy
	if len(in.Policy) > 0 && string(in.Policy) != "null" {
		var err error
		if p, err = service.PolicyFrom(in.Policy); err != nil {
			writeError(w, r, err)
			return
		}
	}
	if in.AWS {
		_, secret, k, err := a.svc.CreateAWSKey(r.Context(), in.Name, p)
		if err != nil {
			writeError(w, r, err)
			return
		}
		created(w, r, "/v1/keys/"+k.ID, newAWSKey{Secret: secret, Key: k})
		return
	}
	key, k, err := a.svc.CreateKey(r.Context(), in.Name, p)
	if err != nil {
		writeError(w, r, err)
		return
	}
	created(w, r, "/v1/keys/"+k.ID, newKey{Secret: key, Key: k})
}

// newKey is a key as it is shown the one time it is made.
type newKey struct {
	Secret string `json:"key"`
	*perch.Key
}

// newAWSKey is an access key pair as it is shown the one time it is made;
// the Key carries its accessKeyId.
type newAWSKey struct {
	Secret string `json:"secretAccessKey"`
	*perch.Key
}

func (a *api) listKeys(w http.ResponseWriter, r *http.Request) {
	list(w, r, a.svc.ListKeys)
}

// simulatePolicy answers whether a key may do an action on a resource,
// and which statement decided, without doing it.
func (a *api) simulatePolicy(w http.ResponseWriter, r *http.Request) {
	var in service.SimulateInput
	if err := decodeBody(r, &in, false); err != nil {
		writeError(w, r, err)
		return
	}
	res, err := a.svc.SimulatePolicy(r.Context(), in)
	respond(w, r, http.StatusOK, res, err)
}

func (a *api) getKey(w http.ResponseWriter, r *http.Request) {
	k, err := a.svc.GetKey(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, k, err)
}

// putKeyPolicy replaces a key's policy with the body: a policy document,
// or the name of a ready-made one as a JSON string.
func (a *api) putKeyPolicy(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, r, err)
		return
	}
	p, err := service.PolicyFrom(b)
	if err != nil {
		writeError(w, r, err)
		return
	}
	k, err := a.svc.SetKeyPolicy(r.Context(), r.PathValue("id"), p)
	respond(w, r, http.StatusOK, k, err)
}

func (a *api) deleteKey(w http.ResponseWriter, r *http.Request) {
	k, err := a.svc.DeleteKey(r.Context(), r.PathValue("id"))
	respond(w, r, http.StatusOK, k, err)
}

// Lists.

// page is one page of a list.
type page[T any] struct {
	Items         []T    `json:"items"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// list answers one page of entities, selected by the query.
func list[T any](w http.ResponseWriter, r *http.Request, fn func(context.Context, perch.Filter) ([]T, string, error)) {
	f, err := parseFilter(r)
	if err != nil {
		writeError(w, r, err)
		return
	}
	items, next, err := fn(r.Context(), f)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if items == nil {
		items = []T{}
	}
	writeJSON(w, r, http.StatusOK, page[T]{Items: items, NextPageToken: next})
}

// query returns r's query, refusing parameters other than allowed, and
// repeats of any but "key", so that a misspelt parameter is not silently
// ignored.
func query(r *http.Request, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, invalidf("query: %v", err)
	}
	for name, vs := range q {
		ok := false
		for _, a := range allowed {
			if name == a {
				ok = true
				break
			}
		}
		if !ok {
			return nil, invalidf("query parameter %q: unknown; want %s", name, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 && name != "key" {
			return nil, invalidf("query parameter %q: given %d times", name, len(vs))
		}
	}
	return q, nil
}

var filterOps = []perch.FilterOp{perch.OpEQ, perch.OpGT, perch.OpLT, perch.OpGE, perch.OpLE, perch.OpNE, perch.OpPrefix}

// parseFilter reads a list's query: filter, op, value, sort, limit and
// pageToken, as AML's Describe operations take them.
func parseFilter(r *http.Request) (perch.Filter, error) {
	var f perch.Filter
	q, err := query(r, "filter", "op", "value", "sort", "limit", "pageToken")
	if err != nil {
		return f, err
	}
	f.Variable = q.Get("filter")
	f.PageToken = q.Get("pageToken")
	if op := q.Get("op"); op != "" {
		for _, o := range filterOps {
			if strings.EqualFold(op, string(o)) {
				f.Op = o
			}
		}
		if f.Op == "" {
			return f, invalidf("op %q: want EQ, GT, LT, GE, LE, NE or Prefix", op)
		}
		if !q.Has("value") {
			return f, invalidf("op %s: needs a value", f.Op)
		}
		f.Value = q.Get("value")
	} else if q.Has("value") {
		return f, invalidf("value: needs an op (EQ, GT, LT, GE, LE, NE or Prefix)")
	}
	switch s := strings.ToLower(q.Get("sort")); s {
	case "", "asc":
	case "desc":
		f.Desc = true
	default:
		return f, invalidf("sort %q: want asc or desc", q.Get("sort"))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > perch.MaxPageLimit {
			return f, invalidf("limit %q: want a number from 1 to %d", l, perch.MaxPageLimit)
		}
		f.Limit = n
	}
	return f, nil
}
