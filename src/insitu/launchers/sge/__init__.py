"""Grid Engine (SGE, Son of Grid Engine, UGE): its batch scheduler and launcher."""
