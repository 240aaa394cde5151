"""Pages for integrators come with the pages issue; the admin serves staff until then."""
