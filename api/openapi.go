package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the API's OpenAPI 3.0 document; openapi_test.go checks it
// against the route table.
//
//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeRaw(w, http.StatusOK, openAPI)
}
