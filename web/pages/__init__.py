"""The staff pages: server-rendered templates that read through the same scoped queries as the API and change
things by calling the API (``static/app.js``)."""
