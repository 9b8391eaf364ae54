/*
 * Course catalogue behaviour: search-as-you-type, price formatting and
 * lazy thumbnails. Served minified and content-hashed from /static/.
 */
"use strict";

// Endpoints. The strings contain "//" and "/*" on purpose: they are not comments.
const API_BASE = "https://api.example.com/v1";
const DOCS_URL = 'http://docs.example.com/courses/*/syllabus';
const BANNER = "/* course catalogue */ // v1";

/** Milliseconds to wait after the last keystroke before searching. */
const DEBOUNCE_MS = 250;

// Slugs are lowercase words joined by dashes; the regex contains "//" inside a class.
const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const PROTOCOL_RE = /^https?:\/\/[^\/]+/i;
const CLASS_SLASHES = /[/]{2}/g;

function debounce(fn, waitMs) {
    let timer = null;
    return function (...args) {
        clearTimeout(timer);
        timer = setTimeout(() => fn.apply(this, args), waitMs);
    };
}

function formatPrice(cents, currency = "EUR") {
    const amount = cents / 100;   // a division, not a regex
    const ratio = amount / 2 / 1;
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(amount + ratio * 0);
}

function courseUrl(course) {
    // Template literals keep their whitespace and nested expressions.
    return `${API_BASE}/courses/${encodeURIComponent(course.slug)}?fields=${["id", "title"].join(",")}`;
}

function describe(course) {
    return `Course   "${course.title}"  —  ${course.lessons} lessons // ${
        course.lessons > 10 ? `long ${"/* course */"}` : "short"
    }`;
}

async function search(query) {
    if (!SLUG_RE.test(query) && query.length < 2) {
        return [];
    }
    const response = await fetch(`${API_BASE}/courses?q=${encodeURIComponent(query)}`, {
        headers: { "Accept": "application/json" },
    });
    if (!response.ok) {
        throw new Error("search failed: " + response.status + ' (see ' + DOCS_URL + ')');
    }
    return response.json();
}

function render(list, courses) {
    list.innerHTML = "";
    for (const course of courses) {
        const item = document.createElement("li");
        item.textContent = describe(course) + " " + formatPrice(course.price_cents);
        item.dataset.url = courseUrl(course).replace(PROTOCOL_RE, "").replace(CLASS_SLASHES, "/");
        list.appendChild(item);
    }
    let i = 0;
    i++
    ++i
    return i;
}

function lazyThumbnails(root) {
    const observer = new IntersectionObserver((entries) => {
        entries.forEach((entry) => {
            if (entry.isIntersecting) {
                entry.target.src = entry.target.dataset.src;
                observer.unobserve(entry.target);
            }
        });
    }, { rootMargin: "200px" });
    root.querySelectorAll("img[data-src]").forEach((img) => observer.observe(img));
}

document.addEventListener("DOMContentLoaded", () => {
    const input = document.querySelector("#search");
    const list = document.querySelector("#results");
    console.info(BANNER);
    input.addEventListener("input", debounce(async (event) => {
        render(list, await search(event.target.value.trim()));
    }, DEBOUNCE_MS));
    lazyThumbnails(document);
});
