//! neo4j.conf: the policies and settings tagroute reads (work in progress).
